/// The time source of the client's own timing decisions: the circuit breaker's cool-down
/// and the backoff before a retry. Production uses the continuous clock; tests inject a
/// manual one (the pattern of Hummingbird's `MockClock`) so that no test waits on wall
/// time for them. Request and connect timeouts are NIO timers on the event loop and do
/// not go through it.
package struct ClientClock: Sendable, Hashable {
    /// Where the time comes from.
    package let source: any ClientTimeSource

    package init(_ source: any ClientTimeSource) {
        self.source = source
    }

    /// The system's continuous clock (the default).
    package static let continuous = ClientClock(ContinuousTimeSource())

    /// The current instant.
    package var now: ContinuousClock.Instant { source.now }

    /// Suspends for `duration` of this clock's time; throws when the task is cancelled.
    package func sleep(for duration: Duration) async throws {
        try await source.sleep(for: duration)
    }

    // Two clocks are the same when they share a source (the source is a reference).
    package static func == (a: ClientClock, b: ClientClock) -> Bool {
        ObjectIdentifier(a.source) == ObjectIdentifier(b.source)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(source))
    }
}

/// A source of time for `ClientClock`.
package protocol ClientTimeSource: AnyObject, Sendable {
    /// The current instant.
    var now: ContinuousClock.Instant { get }
    /// Suspends for `duration`; throws when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The system's continuous clock.
final class ContinuousTimeSource: ClientTimeSource {
    var now: ContinuousClock.Instant { ContinuousClock.now }

    func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
