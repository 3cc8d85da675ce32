/// When ``KaminoClient`` stops trying to connect: after `failureThreshold` consecutive
/// failed connection attempts the circuit opens and requests fail fast with
/// `circuitOpen` for `coolDown`; then one probe connection is tried (half-open), which
/// closes the circuit if it succeeds and opens it again if it fails.
public struct CircuitBreakerPolicy: Sendable, Hashable {
    /// Consecutive failed connection attempts (over all addresses) that open the circuit.
    public var failureThreshold: Int
    /// How long the circuit stays open before a half-open probe.
    public var coolDown: Duration

    /// Creates a policy; by default 5 failures open the circuit for 5 s.
    public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(5)) {
        self.failureThreshold = max(1, failureThreshold)
        self.coolDown = coolDown
    }
}
