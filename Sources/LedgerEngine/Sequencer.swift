package import LedgerCore
import Synchronization

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
    /// state `body` saw), for the caller to wait until it is durable, and the log's
    /// timeline that state belongs to (`rollBack`).
    func read<T: Sendable>(_ body: (any LedgerReading) -> T) async -> (value: T, lsn: UInt64, timeline: UInt64)

    /// `read` without suspending, for layouts that can (the serial one); nil otherwise.
    /// Not generic: `body` keeps its answer itself and returns only its freshness, so that
    /// the event loops' read path (`DurableLedger.readNowLSN`) builds no tuple
    /// type metadata at run time (about 7 runtime lookups a read through this existential).
    func readNow(_ body: (any LedgerReading) -> UInt64) -> (freshness: UInt64, lsn: UInt64, timeline: UInt64)?

    /// Replaces the state with the one the data directory holds up to `lsn` (the log's
    /// durable point after a failed write: the batches after it were applied but are not
    /// in the log), rebuilt by the recovery code a restart runs, off the caller's thread;
    /// reads then see it in `timeline`. Called by `DurableLedger` once no batch is being
    /// logged; waits first for batches already queued (they apply to the old state).
    /// - Throws: `diverged` when the directory does not rebuild to exactly `lsn`.
    func rollBack(directory: String, allowDamaged: Bool, to lsn: UInt64, timeline: UInt64) async throws(EngineError)

    /// The earliest pending deadline, published after every batch applied (and set from
    /// the recovered state): what a `PulseScheduler` waits for.
    var expiries: ExpiryWatch { get }

    /// Whether `snapshot()` can capture the state.
    var takesSnapshots: Bool { get }

    /// Whether `apply` does the work on the spot and answers `.applied` (the serial
    /// layout): a follower then applies shipped batches on its `ShippedApplier` thread,
    /// off the receive path, instead of inside the durable ledger's lock.
    var appliesInPlace: Bool { get }

    /// Captures the state right after the batch last handed to `apply`: at once when it
    /// applied on the spot, or in that batch's turn when it was queued. Called under the
    /// durable ledger's lock (or by the follower's applier right after `apply`), only when
    /// `takesSnapshots`.
    func snapshot() -> SnapshotCapture
}

/// A snapshot's captured state, or the promise of it for a batch still queued.
package enum SnapshotCapture: Sendable {
    case ready(any SnapshotImage)
    /// Fulfilled in the batch's turn; nil when the batch failed to apply (no snapshot).
    case pending(SnapshotPromise)

    /// The captured state once it exists (nil: none will).
    package func image() async -> (any SnapshotImage)? {
        switch self {
        case .ready(let image): return image
        case .pending(let promise): return await promise.value()
        }
    }
}

/// A captured state that one party fulfils once (in a batch's turn) and another awaits.
package final class SnapshotPromise: Sendable {
    private struct State {
        var fulfilled = false
        var image: (any SnapshotImage)?
        var waiters: [CheckedContinuation<(any SnapshotImage)?, Never>] = []
    }

    private let state = Mutex(State())

    package init() {}

    /// Sets the outcome (nil: no snapshot) and wakes the waiters; only the first call counts.
    package func fulfil(_ image: (any SnapshotImage)?) {
        let waiters = state.withLock { s -> [CheckedContinuation<(any SnapshotImage)?, Never>] in
            guard !s.fulfilled else { return [] }
            s.fulfilled = true
            s.image = image
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: image) }
    }

    /// The outcome, once fulfilled.
    package func value() async -> (any SnapshotImage)? {
        await withCheckedContinuation { continuation in
            let ready: (any SnapshotImage)?? = state.withLock { s in
                if s.fulfilled { return .some(s.image) }
                s.waiters.append(continuation)
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension LoggedBatch {
    /// Applies the batch to a serial ledger (one request after another for a coalesced record).
    package func apply(to ledger: Ledger) throws(LedgerError) -> BatchResults {
        try ledger.apply(events, timestamp: timestamp)
    }
}
