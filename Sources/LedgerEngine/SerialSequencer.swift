package import LedgerCore
import Synchronization

/// The serial layout: one `Ledger`, applied in place as each batch is logged.
///
/// `apply` runs inside the durable ledger's lock, in the same critical section as the
/// log append, so LSN order is apply order with no further wait; reads take this
/// sequencer's own lock and see the state between two batches.
package final class SerialSequencer: Sequencer {
    private struct State {
        let ledger: Ledger
        /// The LSN the state covers.
        var lsn: UInt64
    }

    private let state: Mutex<State>
    package let expiries: ExpiryWatch

    /// Takes over `ledger`, whose state covers exactly `lsn`.
    package init(ledger: sending Ledger, lsn: UInt64) {
        expiries = ExpiryWatch(ledger.nextPendingDeadline())
        state = Mutex(State(ledger: ledger, lsn: lsn))
    }

    package var shardCount: Int { 1 }
    package var takesSnapshots: Bool { true }
    package var appliesInPlace: Bool { true }

    package func timestamp(count: Int, wallClock: UInt64) throws(EngineError) -> UInt64 {
        try state.withLock { (s) throws(EngineError) -> UInt64 in
            guard s.ledger.canAccept(count: count) else {
                throw EngineError(.batchRefused, "the ledger's store is full")
            }
            return s.ledger.nextBatchTimestamp(wallClock: wallClock, count: count)
        }
    }

    package func apply(_ batch: LoggedBatch) -> Applying {
        state.withLock { s in
            precondition(batch.lsn == s.lsn + 1, "LSN \(batch.lsn) handed to the serial sequencer after \(s.lsn)")
            let ledger = s.ledger
            let result = Result { () throws(LedgerError) -> BatchResults in try batch.apply(to: ledger) }
            // A batch that failed to apply changed nothing, but it is logged: the durable
            // ledger latches the failure, so no later LSN is ever handed over.
            if case .success = result {
                s.lsn = batch.lsn
                expiries.publish(s.ledger.nextPendingDeadline())
            }
            return .applied(result)
        }
    }

    package func read<T: Sendable>(_ body: (any LedgerReading) -> T) async -> (value: T, lsn: UInt64) {
        state.withLock { s in (body(s.ledger), s.lsn) }
    }

    package func readNow<T: Sendable>(_ body: (any LedgerReading) -> T) -> (value: T, lsn: UInt64)? {
        state.withLock { s in (body(s.ledger), s.lsn) }
    }

    package func snapshot() -> SnapshotCapture {
        .ready(state.withLock { $0.ledger.snapshot() })
    }
}
