package import KaminoTLS

/// TLS for a `KaminoClient` (`KaminoClientOptions.tls`): the server's certificate is
/// verified against `caFile` (or the system's trust store) and must name the host
/// connected to (or `serverName`). TLS 1.2 and 1.3 only, with forward-secret AEAD suites.
/// `certificateChain` and `privateKey` present a client certificate, for servers that
/// ask for one (mutual TLS, `--tls-client-auth required`). `crlFile` refuses a server
/// whose certificate its CA revoked.
public struct KaminoTLSOptions: Sendable, Hashable {
    /// PEM file of the CAs that sign the server's certificate; nil: the system's.
    public var caFile: String?
    /// PEM file: the client certificate, then its intermediates (mutual TLS).
    public var certificateChain: String?
    /// PEM file: the client certificate's private key.
    public var privateKey: String?
    /// The name (or IP address) the server's certificate must carry, when it is not the
    /// host of the address connected to (for example behind a proxy).
    public var serverName: String?
    /// PEM file of certificate revocation lists of `caFile`'s CAs: a server certificate
    /// they revoke is refused, and so is every one while its CA's list in the file has
    /// expired (fail closed). nil: no revocation check.
    public var crlFile: String?

    /// TLS settings from the PEM files and names above; every argument is optional (with
    /// none, the server's certificate is checked against the system's CAs).
    public init(caFile: String? = nil, certificateChain: String? = nil, privateKey: String? = nil,
                serverName: String? = nil, crlFile: String? = nil) {
        self.caFile = caFile
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.serverName = serverName
        self.crlFile = crlFile
    }

    /// The KaminoTLS configuration of a client with these options.
    package var configuration: TLSConfiguration {
        TLSConfiguration(certificateChain: certificateChain, privateKey: privateKey, caFile: caFile, crlFile: crlFile,
                         serverName: serverName)
    }
}
