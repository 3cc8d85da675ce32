#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs blocking work (file IO, fsync) on a fresh pthread so that it never
/// blocks a thread of Swift's cooperative pool.
package enum DedicatedThread {
    /// The closure handed to the new thread.
    private final class Job: @unchecked Sendable {
        // @unchecked: written once by the pthread before the continuation resumes.
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    /// Runs `body` on a new thread and returns its result.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws(WALError) -> T) async throws(WALError) -> T {
        let result: Result<T, WALError> = await withCheckedContinuation { continuation in
            let job = Job {
                do throws(WALError) { continuation.resume(returning: .success(try body())) } catch {
                    continuation.resume(returning: .failure(error))
                }
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
                continuation.resume(returning: .failure(WALError(.system, "pthread_create failed", errno: r)))
            }
        }
        return try result.get()
    }
}
