import Glibc
import LedgerCore
import LedgerServer
import LedgerWire
import Logging

extension HostPort {
    /// Parses a setting's `text`; `key` names the setting in the error.
    init(parsing text: String, key: String) throws(ConfigError) {
        do {
            self = try HostPort(validating: text)
        } catch {
            throw ConfigError(.badValue, "\(key): `\(text)` is not HOST:PORT (for example 127.0.0.1:4410): \(error)")
        }
    }
}

/// The settings of `kamino serve`, resolved with precedence flags > environment > config
/// file > built-in defaults.
struct ServeSettings {
    /// Built-in defaults (the ones README.md and config/README.md document).
    static let defaultData = "./wal/data"
    static let defaultListen = "127.0.0.1:4410"
    static let defaultMetrics = "127.0.0.1:4480"
    static let defaultConfigPath = "config/kamino.toml"
    /// 256 MiB: a restart replays at most about that much log (under a second at 2 M
    /// transfers/s) after loading the newest snapshot.
    static let defaultSnapshotLogBytes: UInt64 = 256 << 20

    var data: String
    var listen: HostPort
    /// nil: metrics disabled (`off`).
    var metrics: HostPort?
    var snapshotEvery: UInt64
    /// Snapshot once this many bytes of log were written since the last one (0: never).
    var snapshotLogBytes: UInt64 = ServeSettings.defaultSnapshotLogBytes
    /// 1: the serial ledger; 2...16: a ledger sharded across that many shard actors.
    var shards: Int
    /// Transfers the id index is sized for at start-up (0: grow as needed).
    var expectedTransfers: Int = 0
    /// Write the next log segment with zeros ahead, off the writer thread (`on`, the
    /// default): shorter fsyncs, at the price of writing the log twice (docs/wal.md).
    var prepareSegments = true
    /// The lowest level logged, and the log line format.
    var logLevel: Logger.Level = .info
    var logFormat: LogFormat = .text
    /// Where each setting that was set came from (`flag`, `env KAMINO_X`, `file PATH:LINE`);
    /// settings absent here have their built-in default.
    var origins: [String: String] = [:]
    /// The config file read, if any.
    var configFile: String?
    /// Replication (`replication`, `replication_listen`, `sync_quorum`, ...).
    var replication = ReplicationSettings()
    /// Authentication and limits (`auth`, `max_connections`, ...).
    var security = SecuritySettings()
    /// TLS on every port (nil: plaintext).
    var tls: TLSSettings?

    /// Raw values by key, as the command line gave them (nil: not given).
    struct Overrides {
        var data: String?
        var listen: String?
        var metrics: String?
        var snapshotEvery: String?
        var snapshotLogBytes: String? = nil
        var shards: String? = nil
        var expectedTransfers: String? = nil
        var prepareSegments: String? = nil
        var logLevel: String? = nil
        var logFormat: String? = nil
        var replication: String? = nil
        var replicationListen: String? = nil
        var syncQuorum: String? = nil
        var syncTimeoutMs: String? = nil
        var nodeId: String? = nil
        var advertise: String? = nil
        var primary: String? = nil
        var etcd: String? = nil
        var cluster: String? = nil
        var leaseTtlMs: String? = nil
        var advertiseReplication: String? = nil
        var retainRecords: String? = nil
        /// `SecurityOptions.flags`: the authentication and limit flags given, by key.
        var security: [String: String] = [:]
        var tlsCert: String? = nil
        var tlsKey: String? = nil
        var tlsCa: String? = nil
        var tlsClientAuth: String? = nil
        var tlsCrl: String? = nil
    }

    /// Resolves the settings. `configPath` nil means the default file, used only if present.
    static func resolve(
        flags: Overrides, configPath: String?, environment: [String: String]
    ) throws(ConfigError) -> ServeSettings {
        var file: [String: ConfigFile.Entry] = [:]
        var filePath = defaultConfigPath
        if let path = configPath {
            filePath = path
            file = try load(path)
        } else if access(defaultConfigPath, R_OK) == 0 {
            file = try load(defaultConfigPath)
        }
        let known = Set(["data", "listen", "metrics", "snapshot_every", "snapshot_log_bytes", "shards", "expected_transfers",
                         "prepare_segments", "log_level", "log_format"]).union(ReplicationSettings.keys).union(SecuritySettings.keys).union(TLSSettings.keys)
        if let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            let line = file[unknown]?.line ?? 0
            throw ConfigError(.unknownKey, "\(filePath):\(line): unknown key `\(unknown)` (known: \(known.sorted().joined(separator: ", ")))")
        }
        let sources = SettingSources(
            flags: [
                "data": flags.data, "listen": flags.listen, "metrics": flags.metrics,
                "snapshot_every": flags.snapshotEvery, "snapshot_log_bytes": flags.snapshotLogBytes, "shards": flags.shards,
                "expected_transfers": flags.expectedTransfers, "prepare_segments": flags.prepareSegments,
                "log_level": flags.logLevel, "log_format": flags.logFormat,
                "replication": flags.replication, "replication_listen": flags.replicationListen,
                "sync_quorum": flags.syncQuorum, "sync_timeout_ms": flags.syncTimeoutMs, "node_id": flags.nodeId,
                "advertise": flags.advertise, "primary": flags.primary, "etcd": flags.etcd, "cluster": flags.cluster,
                "lease_ttl_ms": flags.leaseTtlMs, "advertise_replication": flags.advertiseReplication,
                "retain_records": flags.retainRecords,
                "tls_cert": flags.tlsCert, "tls_key": flags.tlsKey, "tls_ca": flags.tlsCa,
                "tls_client_auth": flags.tlsClientAuth, "tls_crl": flags.tlsCrl,
            ].compactMapValues { $0 }.merging(flags.security) { plain, _ in plain },
            environment: environment,
            environmentNames: Dictionary(uniqueKeysWithValues: known.map { ($0, "KAMINO_" + $0.uppercased()) }),
            file: file, filePath: filePath)
        var origins: [String: SettingSources.Origin] = [:]
        /// The value of `key` and a label naming its source (for error messages).
        func pick(_ key: String, flag: String?, env: String) throws(ConfigError) -> (String, String)? {
            guard let (value, origin) = sources.value(key) else { return nil }
            var text = value
            origins[key] = origin
            if Self.fileKeys.contains(key), case .file(let path, _) = origin, !text.isEmpty, !text.hasPrefix("/") {
                // A path in the file is relative to the file, not to the working directory.
                text = Self.directoryOf(path) + "/" + text
            }
            switch origin {
            case .flag: return (text, "--\(key.replacing("_", with: "-"))")
            case .environment(let name): return (text, name)
            case .file(let path, let line): return (text, "\(path):\(line): \(key)")
            case .builtIn: return (text, key)
            }
        }
        var data = try pick("data", flag: flags.data, env: "KAMINO_DATA") ?? (defaultData, "data")
        guard !data.0.isEmpty else { throw ConfigError(.badValue, "\(data.1): the data directory must not be empty") }
        if case .file(let path, _) = origins["data"], !data.0.hasPrefix("/") {
            // A path in the file is relative to the file, not to the working directory.
            data.0 = Self.directoryOf(path) + "/" + data.0
        }
        let listen = try pick("listen", flag: flags.listen, env: "KAMINO_LISTEN") ?? (defaultListen, "listen")
        let metrics = try pick("metrics", flag: flags.metrics, env: "KAMINO_METRICS") ?? (defaultMetrics, "metrics")
        let every = try pick("snapshot_every", flag: flags.snapshotEvery, env: "KAMINO_SNAPSHOT_EVERY") ?? ("0", "snapshot_every")
        guard let snapshotEvery = UInt64(every.0) else {
            throw ConfigError(.badValue, "\(every.1): `\(every.0)` is not a non-negative integer")
        }
        let logBytesValue = try pick("snapshot_log_bytes", flag: flags.snapshotLogBytes, env: "KAMINO_SNAPSHOT_LOG_BYTES")
            ?? ("\(defaultSnapshotLogBytes)", "snapshot_log_bytes")
        guard let snapshotLogBytes = UInt64(logBytesValue.0), snapshotLogBytes <= 1 << 50 else {
            throw ConfigError(.badValue, "\(logBytesValue.1): `\(logBytesValue.0)` is not a byte count from 0 to \(UInt64(1) << 50)")
        }
        let shardsValue = try pick("shards", flag: flags.shards, env: "KAMINO_SHARDS") ?? ("1", "shards")
        guard let shards = Int(shardsValue.0), shards >= 1, shards <= ShardRouting.maxShards else {
            throw ConfigError(.badValue, "\(shardsValue.1): `\(shardsValue.0)` is not a shard count from 1 to \(ShardRouting.maxShards)")
        }
        let expected = try pick("expected_transfers", flag: flags.expectedTransfers, env: "KAMINO_EXPECTED_TRANSFERS")
            ?? ("0", "expected_transfers")
        guard let expectedTransfers = Int(expected.0), expectedTransfers >= 0, expectedTransfers < 1 << 31 else {
            throw ConfigError(.badValue, "\(expected.1): `\(expected.0)` is not a transfer count from 0 to \((1 << 31) - 1)")
        }
        if shards > 1 && expectedTransfers > 0 {
            throw ConfigError(.badValue, "\(expected.1): not supported with shards > 1 yet (\(shardsValue.1) is \(shards)); set expected_transfers to 0")
        }
        // The memory is faulted in at start-up: a capacity the machine cannot hold is refused
        // here, not found out by the out-of-memory killer.
        let reserved = Ledger.capacityBytes(transfers: expectedTransfers)
        if expectedTransfers > 0, let limit = MemoryLimit.current(), reserved > limit.bytes / 10 * 9 {
            throw ConfigError(.badValue, "\(expected.1): \(expectedTransfers) transfers need \(reserved >> 20) MiB set aside at start-up, more than 90 % of \(limit.source): \(limit.bytes >> 20) MiB")
        }
        let prepareValue = try pick("prepare_segments", flag: flags.prepareSegments, env: "KAMINO_PREPARE_SEGMENTS")
            ?? ("on", "prepare_segments")
        guard prepareValue.0 == "on" || prepareValue.0 == "off" else {
            throw ConfigError(.badValue, "\(prepareValue.1): `\(prepareValue.0)` is not on or off")
        }
        let levelValue = try pick("log_level", flag: flags.logLevel, env: "KAMINO_LOG_LEVEL") ?? ("info", "log_level")
        guard let logLevel = Logger.Level(rawValue: levelValue.0) else {
            throw ConfigError(.badValue, "\(levelValue.1): `\(levelValue.0)` is not a log level ("
                + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        let formatValue = try pick("log_format", flag: flags.logFormat, env: "KAMINO_LOG_FORMAT") ?? ("text", "log_format")
        guard let logFormat = LogFormat(rawValue: formatValue.0) else {
            throw ConfigError(.badValue, "\(formatValue.1): `\(formatValue.0)` is not a log format (text, json)")
        }
        let listenAddress = try HostPort(parsing: listen.0, key: listen.1)
        let replication = try ReplicationSettings.resolve(listen: listenAddress) { (key) throws(ConfigError) in
            try pick(key, flag: nil, env: "")
        }
        if replication.enabled && shards > 1 {
            throw ConfigError(.badValue, "replication: not supported with shards > 1 yet (\(shardsValue.1) is \(shards))")
        }
        let metricsAddress = metrics.0 == "off" ? nil : try HostPort(parsing: metrics.0, key: metrics.1)
        let listeners = [listenAddress] + (metricsAddress.map { [$0] } ?? []) + (replication.enabled ? [replication.listen] : [])
        let security = try SecuritySettings.resolve(listeners: listeners) { (key) throws(ConfigError) in
            try pick(key, flag: nil, env: "")
        }
        var settings = ServeSettings(
            data: data.0,
            listen: listenAddress,
            metrics: metrics.0 == "off" ? nil : try HostPort(parsing: metrics.0, key: metrics.1),
            snapshotEvery: snapshotEvery, snapshotLogBytes: snapshotLogBytes, shards: shards,
            expectedTransfers: expectedTransfers,
            logLevel: logLevel, logFormat: logFormat,
            origins: origins.mapValues(Self.describe), configFile: file.isEmpty && configPath == nil ? nil : filePath)
        settings.prepareSegments = prepareValue.0 == "on"
        settings.replication = replication
        settings.security = security
        settings.tls = try TLSSettings.resolve(replicationEnabled: replication.enabled) { (key) throws(ConfigError) in
            try pick(key, flag: nil, env: "")
        }
        return settings
    }

    /// Where a setting came from, for the start-up log.
    private static func describe(_ origin: SettingSources.Origin) -> String {
        switch origin {
        case .flag: return "flag"
        case .environment(let name): return "env \(name)"
        case .file(let path, let line): return "file \(path):\(line)"
        case .builtIn: return "default"
        }
    }

    /// The keys that name files other than the data directory: relative paths in the
    /// config file are relative to the file (as `data` is).
    static let fileKeys: Set<String> = [
        "tls_cert", "tls_key", "tls_ca", "tls_crl", "auth_hs256_secret_file", "auth_jwks_file", "auth_public_key_file",
        "metrics_token_file",
    ]

    /// The directory part of `path` ("." for a bare file name).
    private static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func load(_ path: String) throws(ConfigError) -> [String: ConfigFile.Entry] {
        guard let text = readText(path) else {
            throw ConfigError(.unreadable, "config file \(path): cannot be read")
        }
        return try ConfigFile.parse(text, path: path)
    }

    private static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 14)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
