package import LedgerCore

/// The events of one write batch, as they are logged and applied.
package enum BatchEvents: Sendable {
    case accounts([Account])
    case transfers([Transfer])
    /// Expires due pending transfers; no events.
    case pulse

    /// The operation the log records for the batch.
    package var operation: Operation {
        switch self {
        case .accounts: return .createAccounts
        case .transfers: return .createTransfers
        case .pulse: return .pulse
        }
    }

    /// How many events the batch holds.
    package var count: Int {
        switch self {
        case .accounts(let a): return a.count
        case .transfers(let t): return t.count
        case .pulse: return 0
        }
    }

    /// The batch's canonical bytes (the log record's body).
    package func encoded() -> [UInt8] {
        switch self {
        case .accounts(let a): return RecordCodec.encodeAccounts(a)
        case .transfers(let t): return RecordCodec.encodeTransfers(t)
        case .pulse: return []
        }
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
    /// ledger's lock, once per LSN, in LSN order, with a timestamp from `timestamp`.
    func apply(_ batch: LoggedBatch) -> Applying

    /// Runs `body` on the state between batches; also returns the last LSN applied (the
    /// state `body` saw), for the caller to wait until it is durable.
    func read<T: Sendable>(_ body: (any LedgerReading) -> T) async -> (value: T, lsn: UInt64)

    /// The earliest pending deadline, published after every batch applied (and set from
    /// the recovered state): what a `PulseScheduler` waits for.
    var expiries: ExpiryWatch { get }

    /// Whether `snapshot()` can capture the state (the serial layout only, for now).
    var takesSnapshots: Bool { get }

    /// Captures the state right after a batch applied on the spot. Called under the
    /// durable ledger's lock, only when `takesSnapshots`.
    func snapshot() -> LedgerSnapshot
}
