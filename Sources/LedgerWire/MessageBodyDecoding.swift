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

    private static func results(
        _ body: UnsafeRawBufferPointer, _ count: Int, _ header: HeaderFields
    ) throws(WireError) -> [(timestamp: UInt64, status: UInt32)] {
        do { return try RecordCodec.decodeResults(body, count: count) } catch {
            guard error.code == .reservedNotZero else { throw header.error(.badBodySize, error.detail) }
            throw header.error(.invalidBody, "a create result has a non-zero reserved field")
        }
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
