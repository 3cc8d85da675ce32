package import LedgerEngine
import Synchronization

/// The hold a replicated primary puts on every answer, writes and reads alike: in sync
/// mode the quorum must have the batch (`SyncQuorum`); in every mode the node must still
/// be the primary and, with etcd, its lease must not have run out. The last check runs
/// right before the answer leaves, so a primary that was paused past its lease (SIGSTOP,
/// a long GC-like stall) answers nothing when it resumes.
package final class PrimaryGate: ReplicationGate, Sendable {
    private let quorum: SyncQuorum?
    private let lease: LeaseDeadline?
    private let isPrimary: @Sendable () -> Bool

    package init(quorum: SyncQuorum?, lease: LeaseDeadline?, isPrimary: @escaping @Sendable () -> Bool) {
        self.quorum = quorum
        self.lease = lease
        self.isPrimary = isPrimary
    }

    package func waitReplicated(_ lsn: UInt64) async throws(EngineError) {
        if let quorum { try await quorum.waitReplicated(lsn) }
        guard isPrimary() else {
            throw EngineError(.replicationTimeout,
                              "this node stopped being the primary while LSN \(lsn) was in flight; its outcome is unknown")
        }
        if let lease, !lease.isValid {
            throw EngineError(.replicationTimeout,
                              "this node's leader lease ran out while LSN \(lsn) was in flight; its outcome is unknown")
        }
    }
}

/// Until when this node may act as the leader: the time its last successful lease
/// renewal was sent plus the lease's TTL, less a safety margin (monotonic clock). etcd
/// expires the lease no earlier than its TTL after it received that renewal, which came
/// after it was sent, so this deadline passes before any other node can take the key.
package final class LeaseDeadline: Sendable {
    private let deadline = Mutex<Double>(0)

    package init() {}

    /// True while the deadline has not passed.
    package var isValid: Bool { monotonicNow() < deadline.withLock { $0 } }

    /// A renewal sent at `sentAt` (monotonic seconds) succeeded for `ttl` seconds; `margin`
    /// is the fraction of the TTL given up for clock-rate differences and scheduling.
    package func renewed(sentAt: Double, ttl: Double, margin: Double = 0.2) {
        precondition(margin >= 0 && margin < 1, "the margin is a fraction of the TTL")
        deadline.withLock { $0 = max($0, sentAt + ttl * (1 - margin)) }
    }

    /// Seconds left (negative once passed).
    package var remaining: Double { deadline.withLock { $0 } - monotonicNow() }

    /// Ends the lease now (resigned, fenced).
    package func expire() { deadline.withLock { $0 = 0 } }
}
