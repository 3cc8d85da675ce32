import CKaminoSys
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

/// The process's one way to start a thread of its own: blocking work (file IO, fsync) on a
/// fresh pthread so that it never blocks a thread of Swift's cooperative pool, and the
/// long-lived threads (the log writer, the memory provisioner).
package enum DedicatedThread {
    /// The closure handed to the new thread.
    private final class Job: @unchecked Sendable {
        // @unchecked: written once before the thread starts, then read only by that thread.
        let work: @Sendable () -> Void
        init(_ work: @escaping @Sendable () -> Void) { self.work = work }
    }

    /// Names the calling thread (15 bytes at most), for `top -H`, `ps -L` and /proc: a
    /// thread otherwise keeps the name of the thread that started it.
    package static func name(_ name: String) {
        _ = kamino_thread_set_name(name)
    }

    /// Starts a detached pthread running `body`.
    package static func start(_ body: @escaping @Sendable () -> Void) throws(WALError) {
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(Job(body)).toOpaque()
        let r = pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().work()
            return nil
        }, arg)
        guard r == 0 else {
            Unmanaged<Job>.fromOpaque(arg).release()
            throw WALError.threadNotStarted(errno: r)
        }
        pthread_detach(tid)
    }

    /// Runs `body` on a new thread and returns its result, or rethrows its error as is.
    package static func run<T: Sendable, Failure: ThreadStartFailure>(
        _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            do throws(WALError) {
                try start {
                    continuation.resume(returning: Result { () throws(Failure) -> T in try body() })
                }
            } catch {
                continuation.resume(returning: .failure(Failure.threadNotStarted(errno: error.errno ?? EAGAIN)))
            }
        }
        return try result.get()
    }
}
