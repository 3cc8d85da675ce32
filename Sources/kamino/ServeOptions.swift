import ArgumentParser

/// The options of `kamino serve` and `kamino follow` (settings resolve with precedence
/// flags > `KAMINO_*` environment > config file > defaults; `ServeSettings`).
struct ServeOptions: ParsableArguments {
    @Option(help: "Data directory (default ./wal/data).")
    var data: String?

    @Option(help: "Client address HOST:PORT (default 127.0.0.1:4410; port 0 picks one).")
    var listen: String?

    @Option(help: "Metrics address HOST:PORT for GET /metrics, or `off` (default 127.0.0.1:4480).")
    var metrics: String?

    @Option(help: "Take a snapshot every N log records (0: never; default 0). With --snapshot-log-bytes, whichever comes first.")
    var snapshotEvery: String?

    @Option(help: "Take a snapshot once this many bytes of log were written since the last one, and at least as many as the last snapshot held (0: never; default 268435456, 256 MiB); older segments the newest snapshots cover are then removed.")
    var snapshotLogBytes: String?

    @Option(help: "Shards of the ledger: 1 (default) runs the serial ledger; 2-16 shard accounts across that many shard actors.")
    var shards: String?

    @Option(help: "Set aside and fault in at start-up, before listening, the memory this many transfers in all need (about 142 bytes each: records, status, id index), so serving them pays no page fault for growth; more still fit (default 0: grow as needed; serial ledger only).")
    var expectedTransfers: String?

    @Option(help: "Write the next log segment with zeros ahead, off the writer thread: on (default; shorter fsyncs) or off (the log is written once, for disks whose bandwidth or write endurance matters more).")
    var prepareSegments: String?

    @Option(help: "Config file (default config/kamino.toml, used if present).")
    var config: String?

    @Option(help: "Lowest level logged: trace, debug, info (default), notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Log line format on stderr: text (default) or json (one object per line).")
    var logFormat: String?

    @Flag(help: ArgumentHelp(
        "Start from what the data directory holds even when it holds less than it must (damage, missing segments or snapshots): the refusal is logged instead. Acknowledged batches may be lost.",
        visibility: .default))
    var acceptDataLoss = false

    @Option(help: "Replication: off (default: a single node), async (answer after the local fsync) or sync (answer once sync-quorum followers made the batch durable too).")
    var replication: String?

    @Option(help: "Where the primary listens for followers, HOST:PORT (default 127.0.0.1:4411; port 0 picks one).")
    var replicationListen: String?

    @Option(help: "Sync mode: followers that must make each batch durable before it is answered (default 1).")
    var syncQuorum: String?

    @Option(help: "Sync mode: milliseconds a batch waits for its quorum before the answer is replication_timeout (default 5000).")
    var syncTimeoutMs: String?

    @Option(help: "This node's name in the cluster (default: its advertised client address).")
    var nodeId: String?

    @Option(help: "The client address HOST:PORT other nodes and clients are told to use for this node (default: --listen).")
    var advertise: String?

    @Option(help: "etcd endpoints HOST:PORT[,HOST:PORT...] for automatic failover (default: none; failover is manual, `kamino promote`).")
    var etcd: String?

    @Option(help: "The cluster's name: its keys in etcd live under /kamino/<cluster>/ (default kamino).")
    var cluster: String?

    @Option(help: "The leader lease's time to live in milliseconds, whole seconds (default 1000).")
    var leaseTtlMs: String?

    @Option(help: "The replication address HOST:PORT published in etcd for followers, when it is not the bound one (a proxy, NAT; default: the bound address).")
    var advertiseReplication: String?

    @Option(help: "Log records a primary keeps for lagging followers beyond what snapshots need (default 1000000); a follower further behind gets the newest snapshot.")
    var retainRecords: String?

    @OptionGroup(title: "Authentication and limits (docs/security.md)")
    var security: SecurityOptions
    @Option(help: "TLS: PEM file of this node's certificate chain; with --tls-key, the client, metrics and replication ports speak TLS only (SIGHUP reloads it).")
    var tlsCert: String?

    @Option(help: "TLS: PEM file of the certificate's private key.")
    var tlsKey: String?

    @Option(help: "TLS: PEM file of the CAs that verify client certificates and, on a follower, the primary's (needed with replication).")
    var tlsCa: String?

    @Option(help: "TLS: client certificates on the client and metrics ports: none (default), optional or required (mutual TLS). Followers always need one.")
    var tlsClientAuth: String?

    @Option(help: "TLS: PEM file of certificate revocation lists of the --tls-ca CAs; revoked peer certificates are refused (SIGHUP reloads it).")
    var tlsCrl: String?

    /// The resolved settings; `primary` is `kamino follow`'s.
    func resolve(primary: String? = nil) throws -> ServeSettings {
        do {
            return try ServeSettings.resolve(
                flags: .init(data: data, listen: listen, metrics: metrics, snapshotEvery: snapshotEvery,
                             snapshotLogBytes: snapshotLogBytes, shards: shards,
                             expectedTransfers: expectedTransfers, prepareSegments: prepareSegments, logLevel: logLevel, logFormat: logFormat,
                             replication: replication, replicationListen: replicationListen, syncQuorum: syncQuorum,
                             syncTimeoutMs: syncTimeoutMs, nodeId: nodeId, advertise: advertise, primary: primary,
                             etcd: etcd, cluster: cluster, leaseTtlMs: leaseTtlMs,
                             advertiseReplication: advertiseReplication, retainRecords: retainRecords,
                             security: security.flags,
                             tlsCert: tlsCert, tlsKey: tlsKey, tlsCa: tlsCa, tlsClientAuth: tlsClientAuth,
                             tlsCrl: tlsCrl),
                configPath: config, environment: processEnvironment())
        } catch {
            throw exitFailure("error: \(error.description)")
        }
    }
}
