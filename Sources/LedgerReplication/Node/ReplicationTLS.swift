package import KaminoTLS

/// TLS of the replication port: the primary's listener requires a client certificate
/// (mutual TLS: only nodes holding a certificate of the cluster's CA follow), and a
/// follower verifies the primary's certificate against the same CA and presents its own.
package struct ReplicationTLS: Sendable {
    /// The primary's side (client certificates required).
    package let server: TLSContext
    /// The follower's side.
    package let client: TLSContext

    package init(server: TLSContext, client: TLSContext) {
        precondition(server.configuration.clientAuth == .required, "followers are always verified by certificate")
        self.server = server
        self.client = client
    }
}
