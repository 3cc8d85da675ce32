import LedgerClient
import Synchronization

/// A clock that moves only when the test says so (Hummingbird's `MockClock` pattern):
/// `now` is a fixed origin plus what `advance(by:)` added, and `sleep` returns once the
/// clock has been advanced past its deadline. No wall time passes in the client's
/// cool-downs and backoffs.
final class ManualClock: ClientTimeSource {
    private struct Sleeper {
        let deadline: Duration
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var elapsed: Duration = .zero
        var sleepers: [Sleeper] = []
        /// Tasks waiting in `waitForSleepers` for this many sleepers.
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let origin = ContinuousClock.now
    private let state = Mutex(State())

    var clock: ClientClock { ClientClock(self) }

    var now: ContinuousClock.Instant { origin + state.withLock { $0.elapsed } }

    /// Tasks suspended in `sleep` now.
    var sleeping: Int { state.withLock { $0.sleepers.count } }

    func sleep(for duration: Duration) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let (due, watchers) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                let deadline = s.elapsed + duration
                guard deadline > s.elapsed else { return (true, []) }
                s.sleepers.append(Sleeper(deadline: deadline, continuation: continuation))
                let count = s.sleepers.count
                let woken = s.watchers.filter { $0.count <= count }.map(\.continuation)
                s.watchers.removeAll { $0.count <= count }
                return (false, woken)
            }
            if due { continuation.resume() }
            for watcher in watchers { watcher.resume() }
        }
    }

    /// Returns once `count` tasks are suspended in `sleep` (a signal, not polling), or
    /// when the waiting task is cancelled (a test's time limit).
    func waitForSleepers(_ count: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { s -> Bool in
                    guard s.sleepers.count < count, !Task.isCancelled else { return true }
                    s.watchers.append((count, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let all = state.withLock { s in
                defer { s.watchers = [] }
                return s.watchers
            }
            for watcher in all { watcher.continuation.resume() }
        }
    }

    /// Moves the clock forward and wakes the sleepers whose deadline has come.
    func advance(by duration: Duration) {
        let due = state.withLock { s -> [Sleeper] in
            s.elapsed += duration
            let elapsed = s.elapsed
            let due = s.sleepers.filter { $0.deadline <= elapsed }
            s.sleepers.removeAll { $0.deadline <= elapsed }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
