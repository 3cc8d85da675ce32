package import LedgerCore

/// The events of one write batch, as they are logged and applied.
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
        case .accountRequests(let r): return r.map(\.count)
        case .transferRequests(let r): return r.map(\.count)
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

/// A batch once the log has taken it: its LSN, its timestamp and its events.
package struct LoggedBatch: Sendable {
    package let lsn: UInt64
    package let timestamp: UInt64
    package let events: BatchEvents

    package init(lsn: UInt64, timestamp: UInt64, events: BatchEvents) {
        self.lsn = lsn
        self.timestamp = timestamp
        self.events = events
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

/// How a sequencer took a logged batch: applied on the spot, or queued for a turn that
/// the caller awaits outside the log's lock.
package enum Applying: Sendable {
    case applied(Result<BatchResults, LedgerError>)
    case queued(@Sendable () async throws(LedgerError) -> BatchResults)

    /// The batch's results, once it has applied.
    package func results() async throws(LedgerError) -> BatchResults {
        switch self {
        case .applied(let result): return try result.get()
        case .queued(let turn): return try await turn()
        }
    }
}

/// Applies logged batches to one layout of the ledger's state (serial, sharded), in LSN
/// order, and serves reads of that state.
///
/// `DurableLedger` orders batches, logs them, waits for durability and latches
/// failures; a sequencer only stamps and applies. The stamping and `apply` calls come
/// from inside the durable ledger's lock, one batch at a time in LSN order, so a
/// sequencer sees exactly the logged sequence. Whatever drives the log (a primary's
/// clients, a follower's shipped records) drives a sequencer the same way.
package protocol Sequencer: AnyObject, Sendable {
    /// How many shards hold the state (1: the serial ledger).
    var shardCount: Int { get }

    /// The timestamp the next batch of `count` events gets: the smallest valid one at or
    /// after `wallClock` (strictly above every earlier batch's). Called under the durable
    /// ledger's lock before logging; changes nothing.
    /// - Throws: `batchRefused` when the state could not take `count` more events, so
    ///   that a batch that is logged always applies.
    func timestamp(count: Int, wallClock: UInt64) throws(EngineError) -> UInt64

    /// Takes the batch the log has just assigned `batch.lsn`. Called under the durable
    /// ledger's lock, once per LSN, in LSN order, with a timestamp from `timestamp`; for
    /// a follower's shipped batches in a layout that `appliesInPlace`, from the
    /// `ShippedApplier` thread instead (still once per LSN, in LSN order, one at a time).
    func apply(_ batch: LoggedBatch) -> Applying

    /// Runs `body` on the state between batches; also returns the last LSN applied (the
    /// state `body` saw), for the caller to wait until it is durable.
    func read<T: Sendable>(_ body: (any LedgerReading) -> T) async -> (value: T, lsn: UInt64)

    /// `read` without suspending, for layouts that can (the serial one); nil otherwise.
    func readNow<T: Sendable>(_ body: (any LedgerReading) -> T) -> (value: T, lsn: UInt64)?

    /// The earliest pending deadline, published after every batch applied (and set from
    /// the recovered state): what a `PulseScheduler` waits for.
    var expiries: ExpiryWatch { get }

    /// Whether `snapshot()` can capture the state (the serial layout only, for now).
    var takesSnapshots: Bool { get }

    /// Whether `apply` does the work on the spot and answers `.applied` (the serial
    /// layout): a follower then applies shipped batches on its `ShippedApplier` thread,
    /// off the receive path, instead of inside the durable ledger's lock.
    var appliesInPlace: Bool { get }

    /// Captures the state right after a batch applied on the spot. Called under the
    /// durable ledger's lock, only when `takesSnapshots`.
    func snapshot() -> LedgerSnapshot
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

extension LoggedBatch {
    /// Applies the batch to a serial ledger (one request after another for a coalesced record).
    package func apply(to ledger: Ledger) throws(LedgerError) -> BatchResults {
        switch events {
        case .accounts(let events):
            return .accounts(try ledger.createAccounts(events, timestamp: timestamp))
        case .transfers(let events):
            return .transfers(try ledger.createTransfers(events, timestamp: timestamp))
        case .pulse:
            try ledger.pulse(timestamp: timestamp)
            return .none
        case .accountRequests(let requests):
            let stamps = events.checkedRequestTimestamps(last: timestamp)
            var out: [[CreateAccountResult]] = []
            out.reserveCapacity(requests.count)
            for (r, t) in zip(requests, stamps) { out.append(try ledger.createAccounts(r, timestamp: t)) }
            return .accountRequests(out)
        case .transferRequests(let requests):
            let stamps = events.checkedRequestTimestamps(last: timestamp)
            var out: [[CreateTransferResult]] = []
            out.reserveCapacity(requests.count)
            for (r, t) in zip(requests, stamps) { out.append(try ledger.createTransfers(r, timestamp: t)) }
            return .transferRequests(out)
        }
    }
}
