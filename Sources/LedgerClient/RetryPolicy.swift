/// How ``KaminoClient`` resends a request after a timeout, a lost connection, or a
/// `busy` reply: exponential backoff with jitter.
///
/// The delay before retry `n` (1-based) is drawn uniformly from `[d/2, d]` where
/// `d = min(maxBackoff, initialBackoff * multiplier^(n-1))`.
public struct RetryPolicy: Sendable, Hashable {
    /// Total attempts per request, the first one included; 1 disables retries.
    public var maxAttempts: Int
    /// The backoff before the first retry (before jitter).
    public var initialBackoff: Duration
    /// The largest backoff (before jitter).
    public var maxBackoff: Duration
    /// The growth factor of the backoff per attempt.
    public var multiplier: Double

    /// Creates a policy; the defaults give 5 attempts spread over about 1.5 s.
    public init(
        maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(50),
        maxBackoff: Duration = .seconds(2), multiplier: Double = 2
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = max(1, multiplier)
    }

    /// No retries: every failure is reported at once.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The jittered delay before retry number `retry` (1 for the first retry).
    func delay(beforeRetry retry: Int) -> Duration {
        let base = initialBackoff.seconds * pow(multiplier, Double(max(0, retry - 1)))
        let capped = min(base, maxBackoff.seconds)
        return .nanoseconds(Int64(Double.random(in: capped / 2...capped) * 1e9))
    }

    private func pow(_ x: Double, _ n: Double) -> Double {
        var result = 1.0
        var i = 0.0
        while i < n && result < 1e9 { result *= x; i += 1 }
        return result
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// The duration in whole nanoseconds, clamped to `Int64`.
    var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (s < 0 ? .min : .max) : ns &+ atto / 1_000_000_000
    }
}
