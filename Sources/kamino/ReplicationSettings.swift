import LedgerWire

/// The replication settings of `kamino serve` and `kamino follow` (config keys, `KAMINO_*`
/// variables and flags, resolved with the others in `ServeSettings`).
struct ReplicationSettings {
    /// The config keys this part owns.
    static let keys: Set<String> = [
        "replication", "replication_listen", "sync_quorum", "sync_timeout_ms", "node_id", "advertise", "primary",
        "etcd", "cluster", "lease_ttl_ms", "advertise_replication", "retain_records",
    ]
    static let defaultReplicationListen = "127.0.0.1:4411"

    /// How answers wait for followers.
    enum Mode: String {
        /// A single node: no replication port, no epochs (the embedded default).
        case off
        case async
        case sync
    }

    var mode: Mode = .off
    /// Where the primary listens for followers.
    var listen = HostPort(host: "127.0.0.1", port: 4411)
    /// Followers that must confirm each batch in sync mode.
    var syncQuorum = 1
    /// How long a batch waits for the quorum before `replication_timeout`.
    var syncTimeoutMs = 5000
    /// This node's name in the cluster (default: its advertised client address).
    var nodeId = ""
    /// False when `nodeId` is the default (the advertised address, whose port 0 is replaced
    /// by the bound one).
    var nodeIdWasSet = false
    /// The client address advertised to followers and clients (default: `listen`).
    var advertise = HostPort(host: "127.0.0.1", port: 4410)
    /// The replication address published for followers (etcd), when it differs from the
    /// bound one (a proxy, NAT); nil: the bound address.
    var advertiseReplication: HostPort?
    /// `kamino follow`: the primary's replication address.
    var primary: HostPort?
    /// etcd endpoints (automatic failover); empty: manual failover.
    var etcd: [String] = []
    /// The cluster's name in etcd (keys under `/kamino/<cluster>/`).
    var cluster = "kamino"
    /// The leader lease's time to live.
    var leaseTtlMs = 1000
    /// Log records a primary keeps for lagging followers beyond what snapshots need; a
    /// follower further behind gets the newest snapshot.
    var retainRecords: UInt64 = 1_000_000

    /// True when this node takes part in replication.
    var enabled: Bool { mode != .off || primary != nil || !etcd.isEmpty }

    /// Resolves the keys through `pick` (the value and a label naming its source).
    static func resolve(
        listen: HostPort, pick: (String) throws(ConfigError) -> (String, String)?
    ) throws(ConfigError) -> ReplicationSettings {
        var r = ReplicationSettings()
        if let (text, label) = try pick("replication") {
            guard let mode = Mode(rawValue: text) else {
                throw ConfigError(.badValue, "\(label): `\(text)` is not a replication mode (off, async, sync)")
            }
            r.mode = mode
        }
        let replicationListen = try pick("replication_listen") ?? (defaultReplicationListen, "replication_listen")
        r.listen = try HostPort(parsing: replicationListen.0, key: replicationListen.1)
        if let (text, label) = try pick("sync_quorum") {
            guard let n = Int(text), n >= 1, n <= 16 else {
                throw ConfigError(.badValue, "\(label): `\(text)` is not a follower count from 1 to 16")
            }
            r.syncQuorum = n
        }
        if let (text, label) = try pick("sync_timeout_ms") {
            guard let n = Int(text), n >= 1, n <= 3_600_000 else {
                throw ConfigError(.badValue, "\(label): `\(text)` is not a time in milliseconds from 1 to 3600000")
            }
            r.syncTimeoutMs = n
        }
        r.advertise = listen
        if let (text, label) = try pick("advertise") { r.advertise = try HostPort(parsing: text, key: label) }
        if let (text, _) = try pick("node_id") {
            r.nodeId = text
            r.nodeIdWasSet = true
        } else {
            r.nodeId = r.advertise.description
        }
        guard !r.nodeId.isEmpty, r.nodeId.utf8.count <= 200 else {
            throw ConfigError(.badValue, "node_id: must be 1 to 200 bytes")
        }
        if let (text, label) = try pick("primary") { r.primary = try HostPort(parsing: text, key: label) }
        if let (text, label) = try pick("advertise_replication") {
            r.advertiseReplication = try HostPort(parsing: text, key: label)
        }
        if let (text, _) = try pick("etcd") {
            r.etcd = text.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        }
        if let (text, label) = try pick("cluster") {
            guard !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw ConfigError(.badValue, "\(label): `\(text)` must be letters, digits, - and _")
            }
            r.cluster = text
        }
        if let (text, label) = try pick("lease_ttl_ms") {
            guard let n = Int(text), n >= 1000, n <= 60000, n % 1000 == 0 else {
                throw ConfigError(.badValue, "\(label): `\(text)` is not a whole number of seconds in milliseconds, 1000 to 60000 (etcd leases count seconds)")
            }
            r.leaseTtlMs = n
        }
        if let (text, label) = try pick("retain_records") {
            guard let n = UInt64(text) else {
                throw ConfigError(.badValue, "\(label): `\(text)` is not a record count")
            }
            r.retainRecords = n
        }
        if r.mode == .off && (r.primary != nil || !r.etcd.isEmpty) {
            // A follower or an etcd member replicates; async unless sync was asked.
            r.mode = .async
        }
        return r
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
