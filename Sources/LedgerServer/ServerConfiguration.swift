package import KaminoTLS

/// How a `LedgerTCPServer` listens and how much work it accepts at once.
package struct ServerConfiguration: Sendable {
    /// Address to bind the client port to (an IP literal or a host name).
    package var host: String
    /// Port to bind; 0 picks an ephemeral port (see `LedgerTCPServer.boundAddress`).
    package var port: Int
    /// Requests one connection may have in flight (from decoding until the channel takes
    /// the reply: at once while it is writable, see `SessionState`); the next is answered
    /// `busy`.
    package var maxInFlightPerConnection: Int
    /// Requests all connections together may have in flight; the next is answered `busy`.
    package var maxInFlightTotal: Int
    /// A connection stops being read while more than this many reply bytes wait to be sent.
    package var outboundHighWaterMark: Int
    /// Reading resumes once the waiting reply bytes fall below this.
    package var outboundLowWaterMark: Int
    /// Reply bytes one connection may have reserved (largest possible replies of its
    /// running requests) plus queued (written while the channel was not writable, not yet
    /// taken); beyond it requests are answered `busy` and reading stops. The channel's own
    /// buffer holds at most `outboundHighWaterMark` more (and the reply that crossed it).
    package var maxQueuedReplyBytesPerConnection: Int
    /// Longest wait, on shutdown, for in-flight requests to be answered.
    package var drainTimeoutSeconds: Int
    /// Event loop threads (0: one per core).
    package var threads: Int
    /// Authentication and limits (docs/security.md); the default: authentication off.
    package var security = ServerSecurity()
    /// TLS on the client port (nil: plaintext); reloading the context changes the
    /// certificates of new connections.
    package var tls: TLSContext? = nil

    /// The default of `maxInFlightPerConnection` (`max_requests_in_flight`).
    package static let defaultMaxInFlightPerConnection = 256
    /// The default of `maxInFlightTotal` (`max_requests_in_flight_total`).
    package static let defaultMaxInFlightTotal = 4096

    package init(
        host: String = "127.0.0.1", port: Int = 4410,
        maxInFlightPerConnection: Int = defaultMaxInFlightPerConnection, maxInFlightTotal: Int = defaultMaxInFlightTotal,
        outboundHighWaterMark: Int = 4 << 20, outboundLowWaterMark: Int = 1 << 20,
        maxQueuedReplyBytesPerConnection: Int = 8 << 20,
        drainTimeoutSeconds: Int = 30, threads: Int = 0
    ) {
        self.host = host
        self.port = port
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.maxInFlightTotal = maxInFlightTotal
        self.outboundHighWaterMark = outboundHighWaterMark
        self.outboundLowWaterMark = outboundLowWaterMark
        self.maxQueuedReplyBytesPerConnection = maxQueuedReplyBytesPerConnection
        self.drainTimeoutSeconds = drainTimeoutSeconds
        self.threads = threads
    }
}
