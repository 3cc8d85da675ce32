/// The circuit breaker's state machine (see `CircuitBreakerPolicy`). Not thread-safe:
/// owned by `ConnectionManager`.
struct CircuitBreaker {
    /// Where the breaker is.
    enum State: Equatable {
        /// Connecting normally; `failures` consecutive attempts have failed.
        case closed(failures: Int)
        /// Failing fast until the instant given.
        case open(until: ContinuousClock.Instant)
        /// The cool-down is over; the next connection attempt is the probe.
        case halfOpen
    }

    let policy: CircuitBreakerPolicy
    private(set) var state: State = .closed(failures: 0)

    init(policy: CircuitBreakerPolicy) {
        self.policy = policy
    }

    /// Whether a connection attempt may start now; moves open to half-open once the
    /// cool-down has passed.
    mutating func admit(now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed, .halfOpen:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    /// True while requests must fail fast.
    var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// A connection attempt succeeded: close the circuit.
    mutating func recordSuccess() {
        state = .closed(failures: 0)
    }

    /// A connection attempt failed: count it, opening the circuit at the threshold (or
    /// at once when it was the half-open probe).
    mutating func recordFailure(now: ContinuousClock.Instant) {
        switch state {
        case .closed(let failures) where failures + 1 < policy.failureThreshold:
            state = .closed(failures: failures + 1)
        case .closed, .halfOpen, .open:
            state = .open(until: now + policy.coolDown)
        }
    }
}
