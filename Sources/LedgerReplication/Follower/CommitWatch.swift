package import LedgerEngine
import Synchronization

/// A follower's hold on its reads: a read answers only once the primary has reported
/// (in a heartbeat) that the state it saw is committed, that is acknowledged to clients
/// (sync mode: on the quorum). A follower may hold records its primary never
/// acknowledged, which a failover can cut; no read shows them.
package final class CommitWatch: ReplicationGate, Sendable {
    private struct Waiter {
        let lsn: UInt64
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var commit: UInt64 = 0
        var waiters: [Waiter] = []
        var reaperRunning = false
    }

    private let state = Mutex(State())
    private let timeout: Duration

    /// - Parameter timeout: how long a read waits for the primary's confirmation.
    package init(timeout: Duration = .seconds(5)) {
        self.timeout = timeout
    }

    /// The highest LSN the primary reported committed.
    package var commitLSN: UInt64 { state.withLock { $0.commit } }

    /// The primary reported `commit` committed.
    package func advance(to commit: UInt64) {
        let ready = state.withLock { s -> [Waiter] in
            guard commit > s.commit else { return [] }
            s.commit = commit
            var ready: [Waiter] = []
            s.waiters.removeAll { w in
                guard w.lsn <= commit else { return false }
                ready.append(w)
                return true
            }
            return ready
        }
        for w in ready { w.continuation.resume(returning: true) }
    }

    package func waitReplicated(_ lsn: UInt64) async throws(EngineError) {
        if state.withLock({ $0.commit >= lsn }) { return }
        let deadline = ContinuousClock.now + timeout
        let confirmed = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let (now, startReaper) = state.withLock { s -> (Bool, Bool) in
                if s.commit >= lsn { return (true, false) }
                s.waiters.append(Waiter(lsn: lsn, deadline: deadline, continuation: continuation))
                defer { s.reaperRunning = true }
                return (false, !s.reaperRunning)
            }
            if now { continuation.resume(returning: true) }
            if startReaper { Task { await self.reap() } }
        }
        guard confirmed else {
            throw EngineError(.replicationTimeout,
                              "this follower's state at LSN \(lsn) was not confirmed committed by the primary within \(timeout); read from the primary")
        }
    }

    /// Fails reads past their deadline; runs while any read waits.
    private func reap() async {
        while true {
            try? await Task.sleep(for: .milliseconds(20))
            let now = ContinuousClock.now
            let (expired, done) = state.withLock { s -> ([Waiter], Bool) in
                var expired: [Waiter] = []
                s.waiters.removeAll { w in
                    guard w.deadline <= now else { return false }
                    expired.append(w)
                    return true
                }
                if s.waiters.isEmpty { s.reaperRunning = false }
                return (expired, s.waiters.isEmpty)
            }
            for w in expired { w.continuation.resume(returning: false) }
            if done { return }
        }
    }
}
