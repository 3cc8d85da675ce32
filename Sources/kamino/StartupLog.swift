import LedgerEngine
import Logging

/// Logs what the server starts with: the version, the config file, and every setting with
/// its value and its source (flag, environment variable, file line or default), paths
/// absolute.
func logSettings(_ settings: ServeSettings, to logger: Logger) {
    func origin(_ key: String) -> Logger.MetadataValue { .string(settings.origins[key] ?? "default") }
    logger.info("starting kamino", metadata: [
        "version": "\(KaminoVersion.version)",
        "commit": "\(KaminoVersion.commit)",
        "config_file": "\(settings.configFile.map(StartupSummary.absolute) ?? "none")",
    ])
    let values: [(String, String)] = [
        ("data", StartupSummary.absolute(settings.data)),
        ("listen", settings.listen.description),
        ("metrics", settings.metrics?.description ?? "off"),
        ("snapshot_every", "\(settings.snapshotEvery)"),
        ("snapshot_log_bytes", "\(settings.snapshotLogBytes)"),
        ("shards", "\(settings.shards)"),
        ("expected_transfers", "\(settings.expectedTransfers)"),
        ("prepare_segments", settings.prepareSegments ? "on" : "off"),
        ("log_level", settings.logLevel.rawValue),
        ("log_format", settings.logFormat.rawValue),
    ]
    for (key, value) in values {
        logger.info("setting", metadata: ["key": "\(key)", "value": "\(value)", "source": origin(key)])
    }
    let r = settings.replication
    let replication: [(String, String)] = !r.enabled ? [("replication", "off")] : [
        ("replication", r.mode.rawValue), ("replication_listen", r.listen.description),
        ("sync_quorum", "\(r.syncQuorum)"), ("sync_timeout_ms", "\(r.syncTimeoutMs)"),
        ("node_id", r.nodeIdWasSet ? r.nodeId : "- (the advertised address)"), ("advertise", r.advertise.description),
        ("advertise_replication", r.advertiseReplication?.description ?? "- (the bound address)"),
        ("primary", r.primary?.description ?? "-"), ("etcd", r.etcd.isEmpty ? "-" : r.etcd.joined(separator: ",")),
        ("cluster", r.cluster), ("lease_ttl_ms", "\(r.leaseTtlMs)"), ("retain_records", "\(r.retainRecords)"),
    ]
    for (key, value) in replication {
        logger.info("setting", metadata: ["key": "\(key)", "value": "\(value)", "source": origin(key)])
    }
    let tls: [(String, String)] = settings.tls.map { t in
        [("tls_cert", t.certificate), ("tls_key", t.key), ("tls_ca", t.caFile ?? "none"), ("tls_crl", t.crlFile ?? "none"), ("tls_client_auth", t.clientAuth.rawValue)]
    } ?? [("tls_cert", "none (plaintext on every port)")]
    for (key, value) in tls {
        logger.info("setting", metadata: ["key": "\(key)", "value": "\(value)", "source": origin(key)])
    }
}
