import Synchronization

/// The server-wide bound on requests in flight, shared by every connection.
package final class InFlightLimiter: Sendable {
    private let count = Atomic<Int>(0)
    /// The most requests allowed in flight at once.
    package let limit: Int

    package init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Takes one slot; false (taking nothing) when all are in use.
    package func tryAcquire() -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back a slot taken by `tryAcquire`.
    package func release() {
        count.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Requests in flight now.
    package var inFlight: Int { count.load(ordering: .sequentiallyConsistent) }
}
