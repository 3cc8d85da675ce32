/// What a node does with writes in a replicated cluster (docs/replication.md).
package enum NodeRole: Sendable, Equatable {
    /// Accepts client writes, stamps and logs them in its epoch.
    case primary
    /// Takes records only from its primary (`DurableLedger.appendShipped`); refuses client
    /// writes with `not_primary`, naming the primary's client address when known.
    case follower(primary: String?)
    /// A primary that stopped accepting writes: it lost its lease or learned of a higher
    /// epoch. Writes are refused with `not_primary`; it may only rejoin as a follower.
    case fenced(reason: String, primary: String?)

    /// The name used in `status` and metrics.
    package var name: String {
        switch self {
        case .primary: return "primary"
        case .follower: return "follower"
        case .fenced: return "fenced"
        }
    }

    /// The primary's client address this node knows of, for `not_primary` replies.
    package var knownPrimary: String? {
        switch self {
        case .primary: return nil
        case .follower(let primary), .fenced(_, let primary): return primary
        }
    }
}

/// Holds answers back until a batch is safe beyond this node: in sync replication, until
/// the sync quorum of followers made it durable. `DurableLedger` calls it after the local
/// fsync, for writes and for reads (a read must not show a change a failover could take
/// back).
package protocol ReplicationGate: Sendable {
    /// Returns once `lsn` may be acknowledged; throws `replicationTimeout` when the quorum
    /// did not confirm it in time, or `notPrimary` when this node fenced itself meanwhile.
    func waitReplicated(_ lsn: UInt64) async throws(EngineError)
}
