import LedgerCore

/// Turns a checked body into a typed request or reply.
enum MessageBodyDecoding {
    static func request(_ op: Operation, count: Int, body: UnsafeRawBufferPointer, header: HeaderFields) throws(WireError) -> Request {
        switch op {
        case .lookupAccounts: return .lookupAccounts(try ids(body, count, header))
        case .lookupTransfers: return .lookupTransfers(try ids(body, count, header))
        case .getAccountTransfers: return .getAccountTransfers(try accountFilter(body, header))
        case .getAccountBalances: return .getAccountBalances(try accountFilter(body, header))
        case .queryAccounts: return .queryAccounts(try queryFilter(body, header))
        case .queryTransfers: return .queryTransfers(try queryFilter(body, header))
        case .createAccounts: return .createAccounts(try accounts(body, header))
        case .createTransfers: return .createTransfers(try transfers(body, header))
        case .pulse, .coalescedCreateAccounts, .coalescedCreateTransfers:
            throw header.error(.unknownOperation, "operation \(op.rawValue) is not client-callable")
        }
    }

    static func reply(_ op: Operation, count: Int, body: UnsafeRawBufferPointer, header: HeaderFields) throws(WireError) -> Reply {
        switch op {
        case .lookupAccounts: return .lookupAccounts(try accounts(body, header))
        case .queryAccounts: return .queryAccounts(try accounts(body, header))
        case .lookupTransfers: return .lookupTransfers(try transfers(body, header))
        case .getAccountTransfers: return .getAccountTransfers(try transfers(body, header))
        case .queryTransfers: return .queryTransfers(try transfers(body, header))
        case .getAccountBalances:
            do { return .getAccountBalances(try RecordCodec.decodeBalances(body, count: count)) } catch {
                guard error.code == .reservedNotZero else { throw header.error(.badBodySize, error.detail) }
                throw header.error(.invalidBody, "an account balance has non-zero reserved bytes")
            }
        case .createAccounts:
            return .createAccounts(
                try results(body, count, header, "create_accounts") { timestamp, raw in
                    CreateAccountStatus(rawValue: raw).map { CreateAccountResult(timestamp: timestamp, status: $0) }
                })
        case .createTransfers:
            return .createTransfers(
                try results(body, count, header, "create_transfers") { timestamp, raw in
                    CreateTransferStatus(rawValue: raw).map { CreateTransferResult(timestamp: timestamp, status: $0) }
                })
        case .pulse, .coalescedCreateAccounts, .coalescedCreateTransfers:
            throw header.error(.unknownOperation, "operation \(op.rawValue) is not client-callable")
        }
    }

    private static func accounts(_ body: UnsafeRawBufferPointer, _ header: HeaderFields) throws(WireError) -> [Account] {
        do { return try RecordCodec.decodeAccounts(body) } catch {
            throw header.error(.badBodySize, error.detail)
        }
    }

    private static func transfers(_ body: UnsafeRawBufferPointer, _ header: HeaderFields) throws(WireError) -> [Transfer] {
        do { return try RecordCodec.decodeTransfers(body) } catch {
            throw header.error(.badBodySize, error.detail)
        }
    }

    /// The create results of `body`, each built by `make` (nil for an unknown status), in
    /// one pass: no intermediate array. Reserved fields are checked for every record
    /// before any status, as `RecordCodec.decodeResults` does.
    private static func results<Result>(
        _ body: UnsafeRawBufferPointer, _ count: Int, _ header: HeaderFields, _ operation: String,
        _ make: (UInt64, UInt32) -> Result?
    ) throws(WireError) -> [Result] {
        // 16 bytes a record: timestamp, status, reserved.
        guard body.count >= count * 16 else { throw header.error(.badBodySize, "\(body.count) bytes for \(count) create results") }
        if (0..<count).contains(where: { body.loadUnaligned(fromByteOffset: $0 * 16 + 12, as: UInt32.self) != 0 }) {
            throw header.error(.invalidBody, "a create result has a non-zero reserved field")
        }
        var out: [Result] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let timestamp = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
            let raw = UInt32(littleEndian: body.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt32.self))
            guard let result = make(timestamp, raw) else {
                throw header.error(.invalidBody, "unknown \(operation) status \(raw)")
            }
            out.append(result)
        }
        return out
    }

    // Sizes were checked by `BodyLayout`, so these throw only if that check and the
    // codec disagree; the frame is refused, never trusted.
    private static func ids(_ body: UnsafeRawBufferPointer, _ count: Int, _ header: HeaderFields) throws(WireError) -> [UInt128] {
        do { return try RecordCodec.decodeIds(body, count: count) } catch {
            throw header.error(.badBodySize, error.detail)
        }
    }

    private static func accountFilter(_ body: UnsafeRawBufferPointer, _ header: HeaderFields) throws(WireError) -> AccountFilter {
        do { return try RecordCodec.decodeAccountFilter(body) } catch {
            throw header.error(.badBodySize, error.detail)
        }
    }

    private static func queryFilter(_ body: UnsafeRawBufferPointer, _ header: HeaderFields) throws(WireError) -> QueryFilter {
        do { return try RecordCodec.decodeQueryFilter(body) } catch {
            throw header.error(.badBodySize, error.detail)
        }
    }
}
