#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
            throw WALError(.system, "pthread_create failed", errno: r)
        }
        pthread_detach(tid)
    }

    /// Runs `body` on a new thread and returns its result.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws(WALError) -> T) async throws(WALError) -> T {
        let result: Result<T, WALError> = await withCheckedContinuation { continuation in
            do throws(WALError) {
                try start {
                    do throws(WALError) { continuation.resume(returning: .success(try body())) } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }
}
