import Synchronization
package import LedgerStorage

/// Where a `DurableLedger` is in its way back from a failed log write.
///
/// The engine applies a batch before it is durable, so when the log fails the state in
/// memory holds batches that will never be: they are taken back by rebuilding the state
/// from the data directory up to the durable LSN (snapshot + log, the recovery a restart
/// runs), once the log has cut its failed tail, and writes resume when the log writes
/// again.
enum LogRollback: Sendable, Equatable {
    /// Writable, or never failed.
    case none
    /// The log failed; waiting for it to cut its tail (`WALHealth.cut`).
    case awaitingCut
    /// Rebuilding the state up to the durable LSN.
    case rebuilding
    /// Rebuilt; waiting for the log to write again (`WALHealth.resumed`).
    case rebuilt
    /// The rebuild failed: writes stay refused (`diverged`) until a restart.
    case failed
    /// A replicated node: it fenced itself instead (its records may be on followers);
    /// writes stay refused until a restart.
    case fenced
}

/// What the ledger tells its owner about its log's health (`DurableLedger.onLogCondition`),
/// for the server's log and metrics. Paths appear only here, never in client replies.
package enum LogCondition: Sendable {
    /// The log failed: writes are refused with `logUnavailable`. `fenced`: a replicated
    /// node that fenced itself (no rollback, no resume until restarted).
    case failed(WALError, durableLSN: UInt64, fenced: Bool)
    /// The state is back at the durable LSN (the rebuild took `seconds`).
    case rolledBack(lsn: UInt64, seconds: Double)
    /// The rebuild failed: writes stay refused until a restart.
    case rollbackFailed(EngineError)
    /// The log writes again: writes are accepted from LSN `durableLSN` + 1.
    case resumed(durableLSN: UInt64)
}

extension DurableLedger {
    /// Tells `listener` (too) about log failures, rollbacks and resumptions from now on
    /// (on the log's writer thread or a task: keep it short).
    package func onLogCondition(_ listener: @escaping @Sendable (LogCondition) -> Void) {
        conditionListeners.withLock { $0.append(listener) }
    }

    /// Tells every condition listener.
    private func tell(_ condition: LogCondition) {
        for listener in conditionListeners.withLock({ $0 }) { listener(condition) }
    }

    /// The log's health listener (on its writer thread: only hands over).
    func logHealth(_ health: WALHealth) {
        switch health {
        case .failed(let error):
            let fenced = state.withLock { s -> Bool in
                if s.failure == nil || s.failure?.code == .logUnavailable { s.failure = .logUnavailable(error) }
                // A replicated node shipped records beyond its durable point (a primary)
                // or takes them from one (a follower): it fences itself, the simplest
                // honest answer (docs/wal.md); the cluster's next primary decides.
                if gate.withLock({ $0 }) != nil || s.role != .primary {
                    s.role = .fenced(reason: "its log cannot be written", primary: nil)
                    s.rollback = .fenced
                    return true
                }
                s.rollback = .awaitingCut
                return false
            }
            tell(.failed(error, durableLSN: writer.durableLSN, fenced: fenced))
        case .cut(let durableLSN, let timeline):
            let rebuild = state.withLock { s -> Bool in
                guard s.rollback == .awaitingCut else { return false }
                s.rollback = .rebuilding
                return true
            }
            if rebuild { Task { await self.rollBack(to: durableLSN, timeline: timeline) } }
        case .resumed(let durableLSN):
            let resumed = state.withLock { s -> Bool in
                guard s.rollback == .rebuilt, s.failure?.code == .logUnavailable else { return false }
                assert(s.lsn == durableLSN, "writes resume right after the state rolled back to")
                s.failure = nil
                s.rollback = .none
                return true
            }
            if resumed { tell(.resumed(durableLSN: durableLSN)) }
        }
    }

    /// Rebuilds the state up to the log's durable point and lets the log resume. No batch
    /// is logged meanwhile (the failure refuses them).
    private func rollBack(to lsn: UInt64, timeline: UInt64) async {
        let began = monotonicNow()
        do throws(EngineError) {
            try await sequencer.rollBack(directory: directory, allowDamaged: writer.configuration.allowDamaged,
                                         to: lsn, timeline: timeline)
        } catch {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.failure = error
                s.rollback = .failed
                defer { s.rollbackWaiters.removeAll() }
                return s.rollbackWaiters
            }
            for w in waiters { w.resume() }
            tell(.rollbackFailed(error))
            return
        }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            assert(s.rollback == .rebuilding, "one rollback at a time")
            s.lsn = lsn
            s.rollback = .rebuilt
            defer { s.rollbackWaiters.removeAll() }
            return s.rollbackWaiters
        }
        for w in waiters { w.resume() }
        tell(.rolledBack(lsn: lsn, seconds: monotonicNow() - began))
        writer.permitResume()
    }

    /// Returns once no rollback is pending (at once when none is). Throws the failure when
    /// there is no rollback to wait for: the rebuild failed, or the node fenced itself.
    func rollbackSettled() async throws(EngineError) {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { s -> Bool in
                switch s.rollback {
                case .awaitingCut, .rebuilding:
                    s.rollbackWaiters.append(c)
                    return true
                case .none, .rebuilt, .failed, .fenced:
                    return false
                }
            }
            if !waiting { c.resume() }
        }
        let (phase, failure) = state.withLock { ($0.rollback, $0.failure) }
        switch phase {
        case .failed, .fenced:
            throw failure ?? EngineError(.logUnavailable, "the log cannot be written")
        case .none:
            // The log failed but its listener has not run yet: let it.
            await Task.yield()
        case .awaitingCut, .rebuilding, .rebuilt:
            break
        }
    }
}
