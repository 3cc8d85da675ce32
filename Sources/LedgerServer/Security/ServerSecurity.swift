package import KaminoAuth

/// The authentication and limit settings of a `LedgerTCPServer` (docs/security.md).
package struct ServerSecurity: Sendable {
    /// Verifies `authenticate` tokens; nil: authentication is off (every connection has
    /// every right; allowed on loopback listeners only, which `kamino serve` enforces).
    package var verifier: TokenVerifier?
    /// Connections open at once, all clients together; more are refused `too_many_connections`.
    package var maxConnections: Int = 10_000
    /// Connections open at once from one client IP address.
    package var maxConnectionsPerAddress: Int = 1_024
    /// Seconds a connection has to deliver its first complete message (with
    /// authentication on: `authenticate`), and a started message to complete while the
    /// server is not busy with its requests; then `timed_out` and close (slowloris). 0: none.
    package var frameTimeoutSeconds: Int = 10
    /// Seconds a connection may stay silent with no request in flight; then `timed_out`
    /// and close. 0: none.
    package var idleTimeoutSeconds: Int = 300
    /// Requests per second one token subject (with authentication off: one client
    /// address) may send, all its connections together; 0: unlimited.
    package var requestsPerSecond: Int = 0
    /// Events (records of creates and ids of lookups) per second, likewise; 0: unlimited.
    package var eventsPerSecond: Int = 0
    /// Request bytes (frames decoded and not yet answered) one connection may have in
    /// flight; a request beyond it is answered `busy` (one request is always admitted).
    package var maxRequestBytesInFlightPerConnection: Int = 64 << 20

    package init() {}

    /// True when connections must authenticate.
    package var authenticationRequired: Bool { verifier != nil }
}
