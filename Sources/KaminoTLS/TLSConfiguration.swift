/// How a TLS endpoint authenticates itself and its peer. Protocol versions and suites are
/// fixed: TLS 1.2 and 1.3 only, TLS 1.2 with ECDHE key exchange and AEAD ciphers only
/// (AES-GCM, ChaCha20-Poly1305), no renegotiation, no compression, no session tickets.
package struct TLSConfiguration: Sendable, Equatable {
    /// Whether a server asks for client certificates (mutual TLS).
    package enum ClientAuth: String, Sendable, Equatable, CaseIterable {
        /// Client certificates are not asked for.
        case none
        /// Asked for; a client without one connects, one that sends one must be verified.
        case optional
        /// A client without a certificate signed by the CA file's CAs is refused.
        case required
    }

    /// PEM file: this endpoint's certificate, then its intermediates (servers: required).
    package var certificateChain: String?
    /// PEM file: the private key of `certificateChain`'s first certificate.
    package var privateKey: String?
    /// PEM file of the CAs that verify the peer. Clients without one use the system's trust
    /// store; servers need one to verify client certificates.
    package var caFile: String?
    /// PEM file of certificate revocation lists: a peer certificate it revokes is refused,
    /// and so is one whose issuer has no current CRL in it (fail closed: an expired CRL
    /// refuses every peer until a fresh one is installed and reloaded). nil: none.
    package var crlFile: String?
    /// Servers: whether client certificates are asked for.
    package var clientAuth: ClientAuth
    /// Clients: the name (or IP address) the server's certificate must carry; nil: none
    /// is checked beyond the CA (set it: without it any certificate of the CA passes).
    package var serverName: String?
    /// Test-only OpenSSL options (`KAMINO_TLS_TEST_*`); 0 in production.
    package var testOptions: Int32

    package init(certificateChain: String? = nil, privateKey: String? = nil, caFile: String? = nil,
                 crlFile: String? = nil, clientAuth: ClientAuth = .none, serverName: String? = nil,
                 testOptions: Int32 = 0) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.caFile = caFile
        self.crlFile = crlFile
        self.clientAuth = clientAuth
        self.serverName = serverName
        self.testOptions = testOptions
    }
}
