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
    }
    private let origin = ContinuousClock.now
    private let state = Mutex(State())

    var clock: ClientClock { ClientClock(self) }

    var now: ContinuousClock.Instant { origin + state.withLock { $0.elapsed } }

    /// Tasks suspended in `sleep` now.
    var sleeping: Int { state.withLock { $0.sleepers.count } }

    func sleep(for duration: Duration) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let due = state.withLock { s -> Bool in
                let deadline = s.elapsed + duration
                guard deadline > s.elapsed else { return true }
                s.sleepers.append(Sleeper(deadline: deadline, continuation: continuation))
                return false
            }
            if due { continuation.resume() }
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
