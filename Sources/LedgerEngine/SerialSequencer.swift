package import LedgerCore
import LedgerStorage
import Synchronization

/// The serial layout: one `Ledger`, applied in place as each batch is logged.
///
/// `apply` runs inside the durable ledger's lock, in the same critical section as the
/// log append, so LSN order is apply order with no further wait; reads take this
/// sequencer's own lock and see the state between two batches.
package final class SerialSequencer: Sequencer {
    private struct State {
        var ledger: Ledger
        /// The LSN the state covers.
        var lsn: UInt64
        /// The log's timeline the state belongs to (`rollBack`).
        var timeline: UInt64 = 0
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

    package func read<T: Sendable>(_ body: (any LedgerReading) -> T) async -> (value: T, lsn: UInt64, timeline: UInt64) {
        state.withLock { s in (body(s.ledger), s.lsn, s.timeline) }
    }

    package func readNow(_ body: (any LedgerReading) -> UInt64) -> (freshness: UInt64, lsn: UInt64, timeline: UInt64)? {
        state.withLock { s in (body(s.ledger), s.lsn, s.timeline) }
    }

    package func rollBack(directory: String, allowDamaged: Bool, to lsn: UInt64, timeline: UInt64) async throws(EngineError) {
        let recovered: LedgerRecovery.Outcome
        do throws(LedgerRecovery.Failure) {
            recovered = try await DedicatedThread.run { () throws(LedgerRecovery.Failure) -> DurableLedger.Handoff in
                let outcome = try LedgerRecovery.recover(directory: directory, repair: false, allowDamaged: allowDamaged,
                                                         through: lsn)
                outcome.ledger.prepareSnapshotMemory()
                return DurableLedger.Handoff(outcome)
            }.outcome
        } catch {
            throw EngineError(.diverged, "the state could not be rebuilt up to LSN \(lsn): \(error)", cause: .recovery(error))
        }
        guard recovered.lsn == lsn else {
            throw EngineError(.diverged, "the state was rebuilt up to LSN \(recovered.lsn), not the durable LSN \(lsn)")
        }
        install(recovered.ledger, lsn: lsn, timeline: timeline)
    }

    /// Swaps in a rebuilt state (`rollBack`).
    private func install(_ ledger: sending Ledger, lsn: UInt64, timeline: UInt64) {
        let deadline = ledger.nextPendingDeadline()
        let replacement = Swap(ledger)
        state.withLock { s in
            assert(s.lsn >= lsn, "a rollback never moves the state forward")
            s.ledger = replacement.ledger
            s.lsn = lsn
            s.timeline = timeline
        }
        expiries.publish(deadline)
    }

    package func snapshot() -> SnapshotCapture {
        .ready(state.withLock { $0.ledger.snapshot() })
    }
}

/// A rebuilt ledger on its way into the sequencer's lock. Unchecked: the caller sent it
/// (`sending`) and keeps no reference.
private struct Swap: @unchecked Sendable {
    let ledger: Ledger
    init(_ ledger: sending Ledger) { self.ledger = ledger }
}
