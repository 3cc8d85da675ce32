#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A counting POSIX semaphore used to wake the writer thread. Posting never
/// blocks, so it is safe from async code; only the writer thread waits.
final class Wakeup: @unchecked Sendable {
    // sem_t is safe to share between threads by design; the pointer never moves.
    private let sem: UnsafeMutablePointer<sem_t>

    init() {
        sem = .allocate(capacity: 1)
        sem_init(sem, 0, 0)
    }

    deinit {
        sem_destroy(sem)
        sem.deallocate()
    }

    func post() { sem_post(sem) }

    /// Blocks the calling (dedicated) thread until posted.
    func wait() {
        while sem_wait(sem) != 0 && errno == EINTR {}
    }

    /// Blocks the calling (dedicated) thread until posted or `seconds` have passed.
    func wait(seconds: Double) {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanos = Int(deadline.tv_nsec) + Int(seconds * 1e9)
        deadline.tv_sec += nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        while sem_timedwait(sem, &deadline) != 0 && errno == EINTR {}
    }
}
