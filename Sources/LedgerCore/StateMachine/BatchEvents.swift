/// The events of one write batch, as they are logged and applied: the one shape the log,
/// replay, followers and the server share (record bodies: `docs/wal.md`).
package enum BatchEvents: Sendable {
    case accounts([Account])
    case transfers([Transfer])
    /// Expires due pending transfers; no events.
    case pulse
    /// Several client `create_accounts` requests in one record, each its own batch, in order.
    case accountRequests([[Account]])
    /// Several client `create_transfers` requests in one record, each its own batch, in order.
    case transferRequests([[Transfer]])

    /// The operation the log records for the batch.
    package var operation: Operation {
        switch self {
        case .accounts: return .createAccounts
        case .transfers: return .createTransfers
        case .pulse: return .pulse
        case .accountRequests: return .coalescedCreateAccounts
        case .transferRequests: return .coalescedCreateTransfers
        }
    }

    /// How many events the batch holds (all requests' events for a coalesced record).
    package var count: Int {
        switch self {
        case .accounts(let a): return a.count
        case .transfers(let t): return t.count
        case .pulse: return 0
        case .accountRequests(let r): return r.reduce(0) { $0 + $1.count }
        case .transferRequests(let r): return r.reduce(0) { $0 + $1.count }
        }
    }

    /// The event counts of the requests a coalesced record holds (one entry otherwise).
    package var requestCounts: [Int] {
        switch self {
        case .accountRequests(let r): return r.map { $0.count }
        case .transferRequests(let r): return r.map { $0.count }
        default: return [count]
        }
    }

    /// The batch's canonical bytes (the log record's body).
    package func encoded() -> [UInt8] {
        switch self {
        case .accounts(let a): return RecordCodec.encodeAccounts(a)
        case .transfers(let t): return RecordCodec.encodeTransfers(t)
        case .pulse: return []
        case .accountRequests(let r): return CoalescedRecordCodec.encode(r, encodeBatch: RecordCodec.encodeAccounts)
        case .transferRequests(let r): return CoalescedRecordCodec.encode(r, encodeBatch: RecordCodec.encodeTransfers)
        }
    }

    /// The events of a logged record's body (replay, shipped records).
    package static func decode(operation: Operation, body: UnsafeRawBufferPointer) throws(CodecError) -> BatchEvents {
        switch operation {
        case .createAccounts: return .accounts(try RecordCodec.decodeAccounts(body))
        case .createTransfers: return .transfers(try RecordCodec.decodeTransfers(body))
        case .pulse where body.isEmpty: return .pulse
        case .coalescedCreateAccounts:
            return .accountRequests(try CoalescedRecordCodec.decode(
                body, recordSize: RecordCodec.accountSize, decodeBatch: RecordCodec.decodeAccounts))
        case .coalescedCreateTransfers:
            return .transferRequests(try CoalescedRecordCodec.decode(
                body, recordSize: RecordCodec.transferSize, decodeBatch: RecordCodec.decodeTransfers))
        default:
            throw CodecError(.unknownOperation, "operation \(operation.rawValue) is not a logged batch")
        }
    }

    /// The batch timestamp of each request when the record is stamped `last`.
    /// - Throws: when they would not all be positive (a record stamped below its requests).
    package func requestTimestamps(last: UInt64) throws(CodecError) -> [UInt64] {
        try CoalescedRecordCodec.timestamps(counts: requestCounts, last: last)
    }
}

/// What applying a batch answered, one result per event.
package enum BatchResults: Sendable {
    case accounts([CreateAccountResult])
    case transfers([CreateTransferResult])
    /// A pulse answers nothing.
    case none
    /// A coalesced record: each request's own results, in the record's order.
    case accountRequests([[CreateAccountResult]])
    case transferRequests([[CreateTransferResult]])
}

extension BatchEvents {
    /// `requestTimestamps` for a batch whose stamp was checked when it was logged (stamping
    /// and every decode check it): a failure here is a broken invariant, not bad input.
    package func checkedRequestTimestamps(last: UInt64) -> [UInt64] {
        do throws(CodecError) {
            return try requestTimestamps(last: last)
        } catch {
            preconditionFailure("a logged batch's request timestamps were checked before it was logged: \(error)")
        }
    }
}

extension Ledger {
    /// Applies a batch stamped `timestamp`: a coalesced record one request after another,
    /// each under its own timestamp. The one apply of replay, followers and the primary's
    /// serial layout.
    package func apply(_ events: BatchEvents, timestamp: UInt64) throws(LedgerError) -> BatchResults {
        switch events {
        case .accounts(let events):
            return .accounts(try createAccounts(events, timestamp: timestamp))
        case .transfers(let events):
            return .transfers(try createTransfers(events, timestamp: timestamp))
        case .pulse:
            try pulse(timestamp: timestamp)
            return .none
        case .accountRequests(let requests):
            let stamps = events.checkedRequestTimestamps(last: timestamp)
            var out: [[CreateAccountResult]] = []
            out.reserveCapacity(requests.count)
            for (r, t) in zip(requests, stamps) { out.append(try createAccounts(r, timestamp: t)) }
            return .accountRequests(out)
        case .transferRequests(let requests):
            let stamps = events.checkedRequestTimestamps(last: timestamp)
            var out: [[CreateTransferResult]] = []
            out.reserveCapacity(requests.count)
            for (r, t) in zip(requests, stamps) { out.append(try createTransfers(r, timestamp: t)) }
            return .transferRequests(out)
        }
    }
}
