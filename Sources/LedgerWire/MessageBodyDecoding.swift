import LedgerCore

/// Turns a checked body into a typed request or reply.
enum MessageBodyDecoding {
    static func request(_ op: Operation, count: Int, body: UnsafeRawBufferPointer, header: HeaderFields) throws(WireError) -> Request {
        switch op {
        case .lookupAccounts: return .lookupAccounts(RecordWire.readIds(body, count: count))
        case .lookupTransfers: return .lookupTransfers(RecordWire.readIds(body, count: count))
        case .getAccountTransfers: return .getAccountTransfers(RecordWire.readAccountFilter(body))
        case .getAccountBalances: return .getAccountBalances(RecordWire.readAccountFilter(body))
        case .queryAccounts: return .queryAccounts(RecordWire.readQueryFilter(body))
        case .queryTransfers: return .queryTransfers(RecordWire.readQueryFilter(body))
        case .createAccounts: return .createAccounts(try accounts(body, header))
        case .createTransfers: return .createTransfers(try transfers(body, header))
        case .pulse: throw header.error(.unknownOperation, "pulse is not client-callable")
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
            guard let balances = RecordWire.readBalances(body, count: count) else {
                throw header.error(.invalidBody, "an account balance has non-zero reserved bytes")
            }
            return .getAccountBalances(balances)
        case .createAccounts:
            var out: [CreateAccountResult] = []
            out.reserveCapacity(count)
            for (timestamp, raw) in try results(body, count, header) {
                guard let status = CreateAccountStatus(rawValue: raw) else {
                    throw header.error(.invalidBody, "unknown create_accounts status \(raw)")
                }
                out.append(CreateAccountResult(timestamp: timestamp, status: status))
            }
            return .createAccounts(out)
        case .createTransfers:
            var out: [CreateTransferResult] = []
            out.reserveCapacity(count)
            for (timestamp, raw) in try results(body, count, header) {
                guard let status = CreateTransferStatus(rawValue: raw) else {
                    throw header.error(.invalidBody, "unknown create_transfers status \(raw)")
                }
                out.append(CreateTransferResult(timestamp: timestamp, status: status))
            }
            return .createTransfers(out)
        case .pulse: throw header.error(.unknownOperation, "pulse is not client-callable")
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

    private static func results(
        _ body: UnsafeRawBufferPointer, _ count: Int, _ header: HeaderFields
    ) throws(WireError) -> [(timestamp: UInt64, status: UInt32)] {
        guard let results = RecordWire.readResults(body, count: count) else {
            throw header.error(.invalidBody, "a create result has a non-zero reserved field")
        }
        return results
    }
}
