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
        ("log_level", settings.logLevel.rawValue),
        ("log_format", settings.logFormat.rawValue),
    ]
    for (key, value) in values {
        logger.info("setting", metadata: ["key": "\(key)", "value": "\(value)", "source": origin(key)])
    }
    let tls: [(String, String)] = settings.tls.map { t in
        [("tls_cert", t.certificate), ("tls_key", t.key), ("tls_ca", t.caFile ?? "none"), ("tls_crl", t.crlFile ?? "none"), ("tls_client_auth", t.clientAuth.rawValue)]
    } ?? [("tls_cert", "none (plaintext on every port)")]
    for (key, value) in tls {
        logger.info("setting", metadata: ["key": "\(key)", "value": "\(value)", "source": origin(key)])
    }
}
