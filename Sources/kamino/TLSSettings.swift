import KaminoTLS
import LedgerReplication
import Logging

/// The TLS settings of `kamino serve` and `kamino follow` (`tls_cert`, `tls_key`,
/// `tls_ca`, `tls_crl`, `tls_client_auth`; flags `--tls-*`, variables `KAMINO_TLS_*`). With a
/// certificate and key, the client port, the metrics port and the replication port speak
/// TLS only; the replication port always requires a client certificate of `tls_ca`
/// (followers present the same certificate as their own server certificate).
struct TLSSettings: Equatable {
    /// The setting keys, for the config file's list of known keys.
    static let keys: Set<String> = ["tls_cert", "tls_key", "tls_ca", "tls_crl", "tls_client_auth"]

    var certificate: String
    var key: String
    var caFile: String?
    /// Revocation lists checked wherever a peer certificate is verified (client
    /// certificates, and between nodes both ways).
    var crlFile: String?
    var clientAuth: TLSConfiguration.ClientAuth

    /// Resolves the settings from `pick` (value and a label naming its source); nil when
    /// neither a certificate nor a key is set.
    static func resolve(
        replicationEnabled: Bool, pick: (String) throws(ConfigError) -> (String, String)?
    ) throws(ConfigError) -> TLSSettings? {
        let certificate = try pick("tls_cert")
        let key = try pick("tls_key")
        let ca = try pick("tls_ca")
        let auth = try pick("tls_client_auth")
        let crl = try pick("tls_crl")
        guard let certificate, let key else {
            if let given = certificate ?? key ?? ca ?? crl ?? auth {
                throw ConfigError(.badValue, "\(given.1): TLS needs both tls_cert and tls_key")
            }
            return nil
        }
        var clientAuth = TLSConfiguration.ClientAuth.none
        if let auth {
            guard let parsed = TLSConfiguration.ClientAuth(rawValue: auth.0) else {
                throw ConfigError(.badValue, "\(auth.1): `\(auth.0)` is not none, optional or required")
            }
            clientAuth = parsed
        }
        if clientAuth != .none && ca == nil {
            throw ConfigError(.badValue, "tls_client_auth \(clientAuth.rawValue): client certificates are verified with tls_ca; set it")
        }
        if let crl, ca == nil {
            throw ConfigError(.badValue, "\(crl.1): revocation lists apply to the certificates tls_ca verifies; set it")
        }
        if let crl, clientAuth == .none && !replicationEnabled {
            throw ConfigError(.badValue, "\(crl.1): no peer certificate is verified (tls_client_auth none, no replication)")
        }
        if replicationEnabled && ca == nil {
            throw ConfigError(.badValue, "replication over TLS: followers and primary verify each other with tls_ca; set it")
        }
        return TLSSettings(certificate: certificate.0, key: key.0, caFile: ca?.0, crlFile: crl?.0, clientAuth: clientAuth)
    }

    /// The client port's (and the metrics port's) configuration.
    var serverConfiguration: TLSConfiguration {
        TLSConfiguration(certificateChain: certificate, privateKey: key, caFile: caFile, crlFile: crlFile, clientAuth: clientAuth)
    }
}

/// The TLS contexts of one node; `reload()` (SIGHUP) re-reads every file.
struct NodeTLS {
    let clientPort: TLSContext
    let replication: ReplicationTLS?

    /// - Throws: a start-up failure naming the file and OpenSSL's reason.
    init(_ settings: TLSSettings, replication: Bool) throws(StartupError) {
        do {
            clientPort = try TLSContext(role: .server, configuration: settings.serverConfiguration)
            if replication {
                var primary = settings.serverConfiguration
                primary.clientAuth = .required
                let follower = TLSConfiguration(certificateChain: settings.certificate, privateKey: settings.key,
                                                caFile: settings.caFile, crlFile: settings.crlFile)
                self.replication = ReplicationTLS(
                    server: try TLSContext(role: .server, configuration: primary),
                    client: try TLSContext(role: .client, configuration: follower))
            } else {
                self.replication = nil
            }
        } catch {
            throw StartupError("tls: \(error.message)")
        }
    }

    /// Re-reads the certificates; on failure every context keeps the ones it had.
    func reload(logger: Logger) {
        do {
            try clientPort.reload()
            try replication?.server.reload()
            try replication?.client.reload()
            logger.notice("tls: certificates reloaded (new connections use them)")
        } catch {
            logger.error("tls: reload failed, the previous certificates stay in use", metadata: ["error": "\(error.message)"])
        }
    }
}
