import Synchronization

/// The server-wide bound on requests in flight, shared by every connection. Shutdown
/// waits for it to be idle through `whenIdle`, not by polling.
package final class InFlightLimiter: Sendable {
    private let count = Atomic<Int>(0)
    /// True while callbacks wait in `idleCallbacks`: `release()` takes the lock only then.
    private let hasWaiters = Atomic<Bool>(false)
    private let idleCallbacks = Mutex<[@Sendable () -> Void]>([])
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
        let left = count.subtract(1, ordering: .sequentiallyConsistent).newValue
        precondition(left >= 0, "a limiter slot released that was never taken")
        if left == 0 && hasWaiters.load(ordering: .sequentiallyConsistent) {
            runIdleCallbacks()
        }
    }

    /// Requests in flight now.
    package var inFlight: Int { count.load(ordering: .sequentiallyConsistent) }

    /// Calls `callback` once no request is in flight: now if none is, else from the
    /// `release()` that frees the last slot (on that thread).
    ///
    /// Both sides are sequentially consistent: `release` lowers the count then reads
    /// `hasWaiters`, this sets `hasWaiters` then reads the count, so one of them sees the
    /// other and the callback is not lost.
    package func whenIdle(_ callback: @escaping @Sendable () -> Void) {
        idleCallbacks.withLock { callbacks in
            callbacks.append(callback)
            hasWaiters.store(true, ordering: .sequentiallyConsistent)
        }
        if count.load(ordering: .sequentiallyConsistent) == 0 {
            runIdleCallbacks()
        }
    }

    private func runIdleCallbacks() {
        let callbacks = idleCallbacks.withLock { callbacks in
            hasWaiters.store(false, ordering: .sequentiallyConsistent)
            defer { callbacks = [] }
            return callbacks
        }
        for callback in callbacks { callback() }
    }
}
