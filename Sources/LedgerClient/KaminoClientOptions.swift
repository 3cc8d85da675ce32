/// Settings of a ``KaminoClient``.
public struct KaminoClientOptions: Sendable, Hashable {
    /// How long one attempt of a request waits for its reply.
    public var requestTimeout: Duration
    /// How long one connection attempt to one address may take.
    public var connectTimeout: Duration
    /// Retries after timeouts and lost connections.
    public var retry: RetryPolicy
    /// Most events merged into one request, 1 to 8189 (the protocol's limit).
    public var maxBatchSize: Int
    /// When to fail fast while the servers are unreachable.
    public var circuitBreaker: CircuitBreakerPolicy
    /// Where lookups and queries go (default: the primary).
    public var readPreference: ReadPreference
    /// The token presented (`authenticate`) on every connection the client opens, before
    /// any request; nil: none, for a server with authentication off (docs/security.md).
    public var token: KaminoToken? = nil
    /// TLS to the servers (nil: plaintext). Connections fail with `connectionFailed`
    /// naming the reason when the handshake fails (unknown CA, wrong name, no client
    /// certificate where the server requires one).
    public var tls: KaminoTLSOptions? = nil
    /// The time of the circuit breaker's cool-down and of retry backoff (tests inject a
    /// manual clock).
    package var clock: ClientClock = .continuous

    /// Creates options; every parameter has a production default.
    public init(
        requestTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(2),
        retry: RetryPolicy = RetryPolicy(), maxBatchSize: Int = 8189,
        circuitBreaker: CircuitBreakerPolicy = CircuitBreakerPolicy(), readPreference: ReadPreference = .primary
    ) {
        self.readPreference = readPreference
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.maxBatchSize = min(max(1, maxBatchSize), 8189)
        self.circuitBreaker = circuitBreaker
    }
}
