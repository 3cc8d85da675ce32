package import LedgerEngine
import Synchronization

/// Sync replication's gate: a batch is answered only once the sync set (`QuorumState`)
/// made it durable, or fails with `replicationTimeout` after `timeout`. Never falls back
/// to answering without the quorum.
///
/// Admissions go through `publish` first when one is set (etcd: the set a new leader
/// must come from), so the published set never names a follower that lacks a committed
/// batch: a follower joins only once it holds every committed LSN, and a departed member
/// leaves the published set only when its replacement is published (meanwhile nothing
/// commits, so it still holds every committed LSN).
package final class SyncQuorum: ReplicationGate, Sendable {
    private struct Waiter {
        let lsn: UInt64
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Result<Void, EngineError>, Never>
    }

    private struct State {
        var quorum: QuorumState
        var waiters: [Waiter] = []
        /// Set once this primary stopped: every wait fails with it.
        var stopped: EngineError?
        /// A membership change is being published.
        var changing = false
        var reaperRunning = false
    }

    private let state: Mutex<State>
    private let timeout: Duration
    private let publish: (@Sendable ([String]) async -> Bool)?

    /// - Parameters:
    ///   - quorum: followers that must confirm each batch.
    ///   - commitLSN: what is committed already (the log's end when this node became primary).
    ///   - timeout: how long a batch waits for the quorum before `replicationTimeout`.
    ///   - publish: records a new sync set durably before it takes effect (etcd); returns
    ///     false when it could not (the change is retried on the next ack).
    package init(quorum: Int, commitLSN: UInt64, timeout: Duration,
                 publish: (@Sendable ([String]) async -> Bool)? = nil) {
        state = Mutex(State(quorum: QuorumState(quorum: quorum, commitLSN: commitLSN)))
        self.timeout = timeout
        self.publish = publish
    }

    /// The highest LSN the quorum has confirmed.
    package var commitLSN: UInt64 { state.withLock { $0.quorum.commitLSN } }

    /// The sync set's members, sorted.
    package var members: [String] { state.withLock { $0.quorum.memberNames } }

    /// A snapshot of the state machine (status, tests).
    package var snapshot: QuorumState { state.withLock { $0.quorum } }

    package func waitReplicated(_ lsn: UInt64) async throws(EngineError) {
        if state.withLock({ $0.stopped == nil && $0.quorum.commitLSN >= lsn }) { return }
        let deadline = ContinuousClock.now + timeout
        let result: Result<Void, EngineError> = await withCheckedContinuation { continuation in
            let (immediate, startReaper): (Result<Void, EngineError>?, Bool) = state.withLock { s in
                if let stopped = s.stopped { return (.failure(stopped), false) }
                if s.quorum.commitLSN >= lsn { return (.success(()), false) }
                s.waiters.append(Waiter(lsn: lsn, deadline: deadline, continuation: continuation))
                let start = !s.reaperRunning
                s.reaperRunning = true
                return (nil, start)
            }
            if let immediate { continuation.resume(returning: immediate) }
            if startReaper { Task { await self.reap() } }
        }
        try result.get()
    }

    /// A follower's ack: it made `durable` durable.
    package func progress(_ node: String, durable: UInt64) {
        let ready = state.withLock { s -> [Waiter] in
            s.quorum.progress(node, durable: durable)
            return Self.takeReady(&s)
        }
        for w in ready { w.continuation.resume(returning: .success(())) }
        considerMembership()
    }

    /// A follower went away: it stops counting at once, so nothing more commits until a
    /// replacement that holds every committed LSN is admitted. The published set keeps
    /// naming it until then (it holds every committed LSN), so a takeover stays possible.
    package func remove(_ node: String) {
        state.withLock { _ = $0.quorum.remove(node) }
        considerMembership()
    }

    /// Fails every wait with `error` and refuses later ones (fenced, demoted, closed).
    package func stop(_ error: EngineError) {
        let waiters = state.withLock { s -> [Waiter] in
            if s.stopped == nil { s.stopped = error }
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in waiters { w.continuation.resume(returning: .failure(error)) }
    }

    /// Admits a follower that holds every committed LSN when the set is short.
    private func considerMembership() {
        let next = state.withLock { s -> (String, [String])? in
            guard !s.changing, s.stopped == nil, let candidate = s.quorum.candidate() else { return nil }
            s.changing = true
            return (candidate, (s.quorum.memberNames + [candidate]).sorted())
        }
        guard let (candidate, newSet) = next else { return }
        guard let publish else {
            finishAdmit(candidate)
            return
        }
        Task {
            // Adding to the published set first is safe: a published member that does not
            // count yet only restricts who may take over.
            let published = await publish(newSet)
            if published {
                finishAdmit(candidate)
            } else {
                state.withLock { $0.changing = false }
            }
        }
    }

    private func finishAdmit(_ node: String) {
        let ready = state.withLock { s -> [Waiter] in
            s.changing = false
            s.quorum.admit(node)
            return Self.takeReady(&s)
        }
        for w in ready { w.continuation.resume(returning: .success(())) }
        considerMembership()
    }

    private static func takeReady(_ s: inout State) -> [Waiter] {
        guard !s.waiters.isEmpty else { return [] }
        let commit = s.quorum.commitLSN
        var ready: [Waiter] = []
        s.waiters.removeAll { w in
            guard w.lsn <= commit else { return false }
            ready.append(w)
            return true
        }
        return ready
    }

    /// Fails waits past their deadline; runs while any wait is pending.
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
            let members = state.withLock { $0.quorum.memberNames }
            for w in expired {
                w.continuation.resume(returning: .failure(EngineError(
                    .replicationTimeout,
                    "LSN \(w.lsn) is durable here but the sync quorum (\(members.isEmpty ? "no follower connected" : members.joined(separator: ", "))) did not confirm it in \(timeout)")))
            }
            if done { return }
        }
    }
}
