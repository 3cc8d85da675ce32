/// The sync set and commit point of a primary in sync replication: a pure state machine
/// (no clock, no IO), driven by `SyncQuorum`.
///
/// The sync set holds exactly `quorum` followers when complete. An LSN is committed (may be
/// acknowledged to clients) once every member made it durable. The invariant that failover
/// rests on: every member holds every committed LSN. It holds because a follower joins the
/// set only once it is durable through the commit LSN, and because the commit LSN only
/// moves while the set is complete. Removing a member never breaks it; with etcd the
/// removal is published before it takes effect (docs/replication.md, "Safety").
package struct QuorumState: Sendable, Equatable {
    /// How many followers must confirm each batch (`sync_quorum`, at least 1).
    package let quorum: Int
    /// The members and the LSN each has made durable.
    package private(set) var members: [String: UInt64] = [:]
    /// Followers outside the set, with their durable LSN (candidates to join).
    package private(set) var others: [String: UInt64] = [:]
    /// Highest LSN durable on every member of a complete set: what may be acknowledged.
    package private(set) var commitLSN: UInt64

    package init(quorum: Int, commitLSN: UInt64) {
        precondition(quorum >= 1, "a sync quorum is at least one follower")
        self.quorum = quorum
        self.commitLSN = commitLSN
    }

    /// True when the set has `quorum` members.
    package var isComplete: Bool { members.count == quorum }

    /// A follower reported `durable` (its ack). Returns true when the commit LSN moved.
    @discardableResult
    package mutating func progress(_ node: String, durable: UInt64) -> Bool {
        if let old = members[node] {
            members[node] = max(old, durable)
        } else {
            others[node] = max(others[node] ?? 0, durable)
        }
        return advance()
    }

    /// The follower that could join the set now (durable through the commit LSN), if the
    /// set is short of members. The caller publishes the new set (etcd) then calls `admit`.
    package func candidate() -> String? {
        guard members.count < quorum else { return nil }
        return others.filter { $0.value >= commitLSN }.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
    }

    /// Moves `node` into the set if it holds every committed LSN (a follower that left
    /// and came back with a cut log may not) and the set is short.
    package mutating func admit(_ node: String) {
        guard let durable = others[node], members.count < quorum, durable >= commitLSN else { return }
        others[node] = nil
        members[node] = durable
        advance()
    }

    /// Forgets a follower (disconnected). Returns true when it was a member.
    @discardableResult
    package mutating func remove(_ node: String) -> Bool {
        others[node] = nil
        return members.removeValue(forKey: node) != nil
    }

    /// The set's names, sorted (as published).
    package var memberNames: [String] { members.keys.sorted() }

    @discardableResult
    private mutating func advance() -> Bool {
        guard isComplete, let lowest = members.values.min(), lowest > commitLSN else { return false }
        commitLSN = lowest
        return true
    }
}
