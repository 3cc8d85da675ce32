#if canImport(Glibc)
import Glibc
#endif

/// Runs two pieces of start-up bulk work at once (loading a snapshot on two cores):
/// `second` on a thread of its own, `first` on the caller's, and returns when both are
/// done. Runs them one after the other when no thread can be started. Not for the hot
/// path: a thread is created per call.
enum ParallelPair {
    static func run(_ first: () -> Void, _ second: () -> Void) {
        withoutActuallyEscaping(second) { second in
            #if canImport(Glibc)
            let box = Unmanaged.passRetained(WorkBox(second))
            var thread = pthread_t()
            let started = pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                Unmanaged<WorkBox>.fromOpaque(raw).takeRetainedValue().work()
                return nil
            }, box.toOpaque())
            guard started == 0 else {
                box.release()
                first()
                second()
                return
            }
            first()
            let joined = pthread_join(thread, nil)
            precondition(joined == 0, "cannot join the second worker thread (\(joined))")
            #else
            first()
            second()
            #endif
        }
    }
}

/// The second piece of work, handed to its thread. Unchecked: `ParallelPair.run` waits for
/// the thread before the work's captures go out of scope, and nothing else runs it.
private final class WorkBox: @unchecked Sendable {
    let work: () -> Void
    init(_ work: @escaping () -> Void) { self.work = work }
}
