#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failure type that `DedicatedThread.run` can throw: it can also say that the thread
/// itself did not start, so the caller's typed errors stay typed.
package protocol ThreadStartFailure: Error {
    /// The error for a `pthread_create` that failed with `errno`.
    static func threadNotStarted(errno: Int32) -> Self
}

extension WALError: ThreadStartFailure {
    package static func threadNotStarted(errno: Int32) -> WALError {
        WALError(.system, "pthread_create failed", errno: errno)
    }
}

/// Runs blocking work (file IO, fsync) on a fresh pthread so that it never
/// blocks a thread of Swift's cooperative pool.
package enum DedicatedThread {
    /// The closure handed to the new thread.
    private final class Job: @unchecked Sendable {
        // @unchecked: written once by the pthread before the continuation resumes.
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    /// Runs `body` on a new thread and returns its result, or rethrows its error as is.
    package static func run<T: Sendable, Failure: ThreadStartFailure>(
        _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            let job = Job {
                continuation.resume(returning: Result { () throws(Failure) -> T in try body() })
            }
            var tid = pthread_t()
            let arg = Unmanaged.passRetained(job).toOpaque()
            let r = pthread_create(&tid, nil, { raw in
                guard let raw else { return nil }
                Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().work()
                return nil
            }, arg)
            if r == 0 {
                pthread_detach(tid)
            } else {
                Unmanaged<Job>.fromOpaque(arg).release()
                continuation.resume(returning: .failure(Failure.threadNotStarted(errno: r)))
            }
        }
        return try result.get()
    }
}
