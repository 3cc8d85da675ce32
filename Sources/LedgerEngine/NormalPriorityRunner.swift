import LedgerStorage
import Synchronization

/// Runs closures in order on a thread of its own, started at the process's normal
/// priority, for a thread that runs at a lower one.
///
/// Linux gives a new thread the nice value of the thread that creates it. Waking a task
/// (resuming a continuation) or starting one can make libdispatch start a worker thread of
/// Swift's cooperative pool from the calling thread; from the shipped applier's thread
/// (nice 5) that worker, and every task it runs later, would run at nice 5 too (seen on a
/// follower: three pool threads at nice 5 and 10). The applier hands such work here.
final class NormalPriorityRunner: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var stopping = false
    }

    private let state = Mutex(State())
    private let wakeup = TimedWakeup()

    /// Starts the thread; call from a thread of normal priority.
    init() throws(WALError) {
        try DedicatedThread.start { [self] in
            DedicatedThread.name("kamino-wake")
            run()
        }
    }

    /// Runs `job` on the runner's thread, after the jobs posted before it.
    func post(_ job: @escaping @Sendable () -> Void) {
        state.withLock { s in
            precondition(!s.stopping, "a job posted to a stopped runner")
            s.jobs.append(job)
        }
        wakeup.signal()
    }

    /// Runs what was posted, then ends the thread (returns at once).
    func stop() {
        state.withLock { $0.stopping = true }
        wakeup.signal()
    }

    private func run() {
        while true {
            let (jobs, stopping) = state.withLock { s in
                defer { s.jobs = [] }
                return (s.jobs, s.stopping)
            }
            for job in jobs { job() }
            if jobs.isEmpty {
                if stopping { return }
                wakeup.wait(seconds: nil)
            }
        }
    }
}
