import Glibc
import LedgerStorage
import Synchronization
import Testing

@testable import LedgerEngine

/// Work posted from a thread at a lower priority runs, and starts threads, at normal
/// priority (Linux gives a new thread its creator's nice value).
@Suite struct NormalPriorityRunnerTests {
    /// The calling thread's nice value.
    static func niceness() -> Int32 {
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    }

    @Test func jobsPostedFromANiceThreadRunAndStartThreadsAtNormalPriority() throws {
        let base = Self.niceness()
        let runner = try NormalPriorityRunner()
        let seen = Mutex<[String: Int32]>([:])
        try DedicatedThread.start {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, base + 5)
            seen.withLock { $0["poster"] = Self.niceness() }
            // What a thread started from here gets: the poster's value.
            try? DedicatedThread.start {
                seen.withLock { $0["started by the poster"] = Self.niceness() }
            }
            runner.post {
                seen.withLock { $0["job"] = Self.niceness() }
                try? DedicatedThread.start {
                    seen.withLock { $0["started by a job"] = Self.niceness() }
                }
            }
        }
        for _ in 0..<1000 where seen.withLock({ $0.count }) < 4 { usleep(10_000) }
        runner.stop()
        let values = seen.withLock { $0 }
        #expect(values["poster"] == base + 5, "setpriority had no effect: \(values)")
        #expect(values["started by the poster"] == base + 5, "\(values)")
        #expect(values["job"] == base && values["started by a job"] == base, "\(values)")
    }
}
