package import KaminoEtcd
package import Logging

/// Automatic failover through etcd, the way Patroni runs PostgreSQL: the primary holds
/// the leader key under a lease and renews it; it fences itself once the lease may have
/// run out; followers watch the key and, when it is gone, the eligible one with the most
/// durable log takes it. The key's create revision is the new epoch (etcd revisions only
/// grow, so every term's epoch is above every earlier one).
///
/// Eligibility (sync mode): only a member of the published sync set may take the key:
/// each member holds every batch ever acknowledged (`QuorumState`, `SyncQuorum`). With no
/// sync set published yet, any node may. Async mode prefers the most durable log among
/// the live members but promises nothing about the lag.
package struct EtcdElection: Sendable {
    /// What `decide` found.
    package enum Decision: Sendable {
        /// This node took the leader key: lead in epoch `epoch` under `lease`.
        case lead(epoch: UInt64, lease: Int64)
        /// Another node holds the key: follow it while its key keeps `createRevision`.
        case follow(LeaderRecord, createRevision: Int64)
    }

    package let client: EtcdClient
    /// The client that renews the lease: its requests may take longer than the others'
    /// (a loaded machine answers slowly), since the lease deadline, not the request,
    /// decides when this node stops answering (`PrimaryGate`).
    package let leaseClient: EtcdClient
    package let keys: ClusterKeys
    package let nodeId: String
    package let clientAddress: String
    /// The lease's TTL in whole seconds (etcd counts seconds).
    package let ttlSeconds: Int
    /// Whether only sync-set members may take over.
    package let syncMode: Bool
    package let logger: Logger
    /// How often followers look at the leader key.
    package static let pollInterval: Duration = .milliseconds(100)

    package init(client: EtcdClient, leaseClient: EtcdClient, cluster: String, nodeId: String, clientAddress: String,
                 ttlSeconds: Int, syncMode: Bool, logger: Logger) {
        precondition(ttlSeconds >= 1, "etcd leases last at least a second")
        self.client = client
        self.leaseClient = leaseClient
        keys = ClusterKeys(cluster: cluster)
        self.nodeId = nodeId
        self.clientAddress = clientAddress
        self.ttlSeconds = ttlSeconds
        self.syncMode = syncMode
        self.logger = logger
    }

    /// Waits until this node leads or follows someone. `durableLSN` is asked each round
    /// (the node's log end, to compare with the other members').
    package func decide(durableLSN: @Sendable () -> UInt64) async throws -> Decision {
        var rounds = 0
        while true {
            try Task.checkCancellation()
            do throws(EtcdError) {
                if let decision = try await attempt(durableLSN: durableLSN(), rounds: rounds) { return decision }
            } catch {
                logger.warning("replication: etcd unavailable for the election", metadata: ["error": "\(error)"])
            }
            rounds += 1
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    /// One look at the leader key: follow its holder, or take it when it is free and this
    /// node is eligible; nil to look again later.
    private func attempt(durableLSN: UInt64, rounds: Int) async throws(EtcdError) -> Decision? {
        if let held = try await client.get(key: keys.leader) {
            if let record = LeaderRecord.fromJSON(held.value), record.node != nodeId, !record.replication.isEmpty {
                return .follow(record, createRevision: held.createRevision)
            }
            // Our own key from before a restart (its lease still running), or a leader
            // that is not listening yet: look again.
            return nil
        }
        guard try await eligible(durableLSN: durableLSN, rounds: rounds) else { return nil }
        let lease = try await client.grantLease(ttlSeconds: ttlSeconds)
        let record = LeaderRecord(node: nodeId, client: clientAddress, replication: "")
        let taken = try await client.createIfAbsent(key: keys.leader, value: record.jsonBytes(), lease: lease.id)
        guard taken.created else {
            try? await client.revoke(lease: lease.id)
            return nil
        }
        logger.notice("replication: took the leader key", metadata: [
            "epoch": "\(taken.revision)", "lease_ttl": "\(lease.ttl)",
        ])
        return .lead(epoch: UInt64(taken.revision), lease: lease.id)
    }

    /// Whether this node may try to take the free leader key now.
    private func eligible(durableLSN: UInt64, rounds: Int) async throws(EtcdError) -> Bool {
        var syncSet: Set<String>?
        if syncMode, let held = try await client.get(key: keys.sync), let sync = SyncRecord.fromJSON(held.value),
           !sync.members.isEmpty {
            guard sync.members.contains(nodeId) else { return false }
            syncSet = Set(sync.members)
        }
        // Prefer the most durable live follower that may take over too (in sync mode a
        // follower outside the sync set never may); after a few rounds, go anyway (a
        // member key that outlived its node must not block the cluster).
        let others = try await client.getPrefix(keys.members).compactMap { MemberRecord.fromJSON($0.value) }
            .filter { $0.node != nodeId && $0.role == "follower" && (syncSet?.contains($0.node) ?? true) }
        let better = others.contains { other in
            guard other.durableLSN >= durableLSN else { return false }
            guard other.durableLSN == durableLSN else { return true }
            return other.node < nodeId
        }
        return !better || rounds >= 5
    }

    /// Renews the lease until it is lost or the task is cancelled, moving `deadline`
    /// forward after each renewal. Returns why leadership ended.
    package func holdLease(_ lease: Int64, deadline: LeaseDeadline) async -> String {
        let interval = Duration.milliseconds(ttlSeconds * 1000 / 4)
        while !Task.isCancelled {
            let sentAt = monotonicNow()
            do throws(EtcdError) {
                let ttl = try await leaseClient.keepAlive(lease: lease)
                deadline.renewed(sentAt: sentAt, ttl: Double(ttl))
            } catch {
                if error.code == .leaseExpired {
                    deadline.expire()
                    return "the leader lease expired"
                }
                if !deadline.isValid { return "the leader lease could not be renewed in time: \(error)" }
            }
            if !deadline.isValid { return "the leader lease could not be renewed in time" }
            // Sleep no longer than the time left, so a stall is noticed at the deadline.
            let left = Duration.milliseconds(Int(max(0, deadline.remaining) * 1000))
            try? await Task.sleep(for: min(interval, left))
        }
        return "stopping"
    }

    /// Publishes where followers reach this leader (once its port is bound).
    package func publishLeader(_ record: LeaderRecord, lease: Int64, epoch: UInt64) async -> Bool {
        (try? await client.putIfOwner(key: keys.leader, value: record.jsonBytes(), lease: lease,
                                      expectedCreateRevision: Int64(epoch))) ?? false
    }

    /// Publishes the sync set, only while this node still holds its leader key.
    package func publishSync(_ members: [String], epoch: UInt64) async -> Bool {
        let record = SyncRecord(epoch: epoch, members: members)
        let done = (try? await client.putIfHolding(
            guardKey: keys.leader, guardCreateRevision: Int64(epoch), key: keys.sync, value: record.jsonBytes())) ?? false
        logger.info("replication: sync set published", metadata: ["members": "\(members)", "ok": "\(done)"])
        return done
    }

    /// Writes a key until etcd's revision is above `floor` (epochs from manual promotions
    /// must stay below every epoch etcd hands out later).
    package func raiseRevision(above floor: UInt64) async throws {
        for _ in 0..<100_000 {
            let revision = try await client.put(key: keys.prefix + "epoch-floor", value: Array("\(floor)".utf8))
            if UInt64(revision) > floor { return }
        }
        throw ReplicationFailure(.invalidRole, "etcd's revision stays at or below epoch \(floor)")
    }

    /// Gives the key up (a clean stop or a fence), best effort.
    package func resign(epoch: UInt64, lease: Int64) async {
        _ = try? await client.deleteIfOwner(key: keys.leader, expectedCreateRevision: Int64(epoch))
        try? await client.revoke(lease: lease)
    }

    /// Returns when the leader key no longer is the incarnation `createRevision` (gone or
    /// taken again), or when cancelled.
    package func watchLeader(createRevision: Int64) async {
        while !Task.isCancelled {
            do {
                let held = try await client.get(key: keys.leader)
                if held?.createRevision != createRevision { return }
            } catch {
                // etcd unreachable: keep following the primary we know; it fences itself if
                // it cannot reach etcd either.
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
    }

    /// Publishes this node's progress every `interval` under its own lease, until cancelled.
    package func publishProgress(role: @escaping @Sendable () -> String, durableLSN: @escaping @Sendable () -> UInt64) async {
        var lease: Int64?
        while !Task.isCancelled {
            do {
                if lease == nil { lease = try await client.grantLease(ttlSeconds: max(ttlSeconds, 2)).id }
                if let id = lease {
                    let record = MemberRecord(node: nodeId, client: clientAddress, durableLSN: durableLSN(), role: role())
                    _ = try await client.put(key: keys.member(nodeId), value: record.jsonBytes(), lease: id)
                    _ = try await client.keepAlive(lease: id)
                }
            } catch {
                lease = nil
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        if let lease { try? await client.revoke(lease: lease) }
    }
}
