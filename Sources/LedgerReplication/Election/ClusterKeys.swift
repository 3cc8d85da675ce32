import Foundation

/// The cluster's keys in etcd (docs/replication.md, "Failover with etcd") and their JSON.
package struct ClusterKeys: Sendable {
    package let prefix: String

    package init(cluster: String) { prefix = "/kamino/\(cluster)/" }

    /// The leader key: held by the primary under its lease; its create revision is the
    /// primary's epoch.
    package var leader: String { prefix + "leader" }
    /// The sync set: written by the primary (only while it holds the leader key) before
    /// the set counts; no lease, so it outlives the primary.
    package var sync: String { prefix + "sync" }
    /// Each node's progress, under its own lease.
    package var members: String { prefix + "members/" }
    package func member(_ node: String) -> String { members + node }
}

/// The leader key's value.
package struct LeaderRecord: Codable, Sendable, Equatable {
    package var node: String
    /// Client address (for `not_primary` redirects and clients).
    package var client: String
    /// Replication address (followers connect there); empty until the port is bound.
    package var replication: String

    package init(node: String, client: String, replication: String) {
        self.node = node
        self.client = client
        self.replication = replication
    }
}

/// The sync key's value: the followers that hold every batch acknowledged since `epoch`
/// began, and so may take over.
package struct SyncRecord: Codable, Sendable, Equatable {
    package var epoch: UInt64
    package var members: [String]

    package init(epoch: UInt64, members: [String]) {
        self.epoch = epoch
        self.members = members
    }
}

/// A member key's value: how far the node's log is durable.
package struct MemberRecord: Codable, Sendable, Equatable {
    package var node: String
    package var client: String
    package var durableLSN: UInt64
    package var role: String

    package init(node: String, client: String, durableLSN: UInt64, role: String) {
        self.node = node
        self.client = client
        self.durableLSN = durableLSN
        self.role = role
    }
}

extension Encodable {
    /// The value as JSON bytes (sorted keys).
    func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }
}

extension Decodable {
    /// Decodes JSON bytes; nil when they do not hold this type.
    static func fromJSON(_ bytes: [UInt8]) -> Self? {
        try? JSONDecoder().decode(Self.self, from: Data(bytes))
    }
}
