import LedgerCore

/// The shape of a body: which record it holds and how many of them.
enum BodyLayout {
    /// 0 to `WireLimits.batchMax` records of `size` bytes each.
    case records(size: Int)
    /// Exactly one record of `size` bytes (the filter of a query).
    case exactlyOne(size: Int)

    /// The body of a request for `operation`.
    static func request(_ operation: Operation) -> BodyLayout {
        switch operation {
        case .lookupAccounts, .lookupTransfers: return .records(size: RecordCodec.idSize)
        case .getAccountTransfers, .getAccountBalances: return .exactlyOne(size: RecordCodec.accountFilterSize)
        case .queryAccounts, .queryTransfers: return .exactlyOne(size: RecordCodec.queryFilterSize)
        case .createAccounts: return .records(size: RecordCodec.accountSize)
        case .createTransfers: return .records(size: RecordCodec.transferSize)
        case .pulse, .coalescedCreateAccounts, .coalescedCreateTransfers:
            return .records(size: 1)  // never reached: not client-callable
        }
    }

    /// The body of a (successful) reply for `operation`.
    static func reply(_ operation: Operation) -> BodyLayout {
        switch operation {
        case .lookupAccounts, .queryAccounts: return .records(size: RecordCodec.accountSize)
        case .lookupTransfers, .getAccountTransfers, .queryTransfers: return .records(size: RecordCodec.transferSize)
        case .getAccountBalances: return .records(size: RecordCodec.accountBalanceSize)
        case .createAccounts, .createTransfers: return .records(size: RecordCodec.createResultSize)
        case .pulse, .coalescedCreateAccounts, .coalescedCreateTransfers:
            return .records(size: 1)  // never reached: not client-callable
        }
    }

    /// Operations a client may call (not `pulse` nor the log's coalesced records).
    static func clientOperation(_ raw: UInt8) -> Operation? {
        guard let op = Operation(rawValue: raw), op.isClientCallable else { return nil }
        return op
    }

    /// Checks the body size and event count of `header`; returns the number of records.
    func check(_ header: HeaderFields) throws(WireError) -> Int {
        let size: Int
        switch self {
        case .records(let s), .exactlyOne(let s): size = s
        }
        let bodySize = Int(header.bodySize)
        guard bodySize % size == 0 else {
            throw header.error(.badBodySize, "body of \(bodySize) bytes is not a whole number of \(size)-byte records")
        }
        let count = bodySize / size
        guard count == Int(header.eventCount) else {
            throw header.error(.badBodySize, "event_count \(header.eventCount) but the body holds \(count) records")
        }
        if case .exactlyOne = self, count != 1 {
            throw header.error(.badBodySize, "this operation takes exactly one \(size)-byte filter, got \(count)")
        }
        guard count <= WireLimits.batchMax else {
            throw header.error(.tooManyEvents, "\(count) records; at most \(WireLimits.batchMax) per message")
        }
        return count
    }
}
