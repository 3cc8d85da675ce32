#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Wakes one dedicated thread that sleeps for at most a given time: a signal that comes
/// while nobody waits is kept for the next wait (so none is lost). Waits are measured on
/// the monotonic clock. Signalling never blocks for long (a short mutex), so it is safe
/// from async code; only a dedicated thread may wait.
package final class TimedWakeup: @unchecked Sendable {
    // @unchecked: the mutex and condition are shared by design and never move; `signaled`
    // is read and written only with the mutex held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var signaled = false

    package init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Wakes the waiter now, or makes its next wait return at once.
    package func signal() {
        pthread_mutex_lock(mutex)
        signaled = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks the calling (dedicated) thread until signalled or until `seconds` have
    /// passed (nil: until signalled); true when signalled. Consumes the signal.
    @discardableResult
    package func wait(seconds: Double?) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let seconds {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            // At most an hour per wait: callers loop, and the sum stays far from overflow.
            let nanoseconds = Int(min(max(seconds, 0), 3_600) * 1e9)
            let total = deadline.tv_nsec + nanoseconds % 1_000_000_000
            deadline.tv_sec += nanoseconds / 1_000_000_000 + total / 1_000_000_000
            deadline.tv_nsec = total % 1_000_000_000
            while !signaled {
                if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
            }
        } else {
            while !signaled { pthread_cond_wait(condition, mutex) }
        }
        let woken = signaled
        signaled = false
        return woken
    }
}
