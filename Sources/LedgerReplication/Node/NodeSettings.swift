/// How a node replicates (`--replication`, `sync_quorum`, ...).
package enum ReplicationMode: Sendable, Equatable, CustomStringConvertible {
    /// Answer after the local fsync; followers may lag (a failover can lose the lag).
    case async
    /// Answer only once `quorum` followers made the batch durable too; wait at most
    /// `timeout` for them, then answer `replication_timeout`. Never falls back to async.
    case sync(quorum: Int, timeout: Duration)

    package var description: String {
        switch self {
        case .async: return "async"
        case .sync(let quorum, _): return "sync(quorum \(quorum))"
        }
    }
}

/// What a replicated node needs to know about itself.
package struct NodeSettings: Sendable {
    /// The data directory.
    package var directory: String
    /// This node's name in the cluster (unique; default: its client address).
    package var nodeId: String
    /// The address clients reach this node at, `HOST:PORT` (sent to followers and in
    /// `not_primary` replies).
    package var clientAddress: String
    /// Where this node listens for followers while it is the primary.
    package var replicationHost: String
    package var replicationPort: Int
    /// The address followers reach this node's replication port at (published in etcd);
    /// nil: the address the port is bound to.
    package var replicationAddress: String?
    package var mode: ReplicationMode
    /// Log records kept for followers beyond what snapshots need (a follower further
    /// behind gets the snapshot instead).
    package var retainRecords: UInt64
    /// Mutual TLS between followers and primary (nil: plaintext).
    package var tls: ReplicationTLS? = nil
    /// As the primary: the check of followers' tokens (`--auth jwt`); nil: followers are
    /// not asked for one.
    package var followerAuthentication: FollowerAuthentication?
    /// As a follower: the token its `hello` carries (asked again on every connection, so
    /// a refreshed token file is used); nil: none.
    package var replicationToken: (@Sendable () throws -> [UInt8])?

    package init(directory: String, nodeId: String, clientAddress: String, replicationHost: String,
                 replicationPort: Int, replicationAddress: String?, mode: ReplicationMode,
                 retainRecords: UInt64 = 1_000_000) {
        self.directory = directory
        self.nodeId = nodeId
        self.clientAddress = clientAddress
        self.replicationHost = replicationHost
        self.replicationPort = replicationPort
        self.replicationAddress = replicationAddress
        self.mode = mode
        self.retainRecords = retainRecords
    }
}
