import NIOCore
import Synchronization

/// How `LedgerTCPServer.stop()` waits for the drain: every connection closed and no
/// request in flight, or the drain deadline, whichever comes first. Event-driven (close
/// futures and `InFlightLimiter.whenIdle`), no polling.
enum DrainSignal {
    /// Returns true once every channel in `channels` is closed and `limiter` is idle, or
    /// false when `timeout` passes first.
    static func wait(channels: [any Channel], limiter: InFlightLimiter, timeout: TimeAmount,
                     on loop: any EventLoop) async -> Bool {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            let deadline = loop.scheduleTask(in: timeout) { once.resume(returning: false) }
            // A timer that never runs (cancelled, or its loop shut down) must not leave the
            // caller waiting: the first resume wins, so cancelling after a drain is harmless.
            deadline.futureResult.whenFailure { _ in once.resume(returning: false) }
            EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: loop).whenComplete { _ in
                limiter.whenIdle {
                    once.resume(returning: true)
                    deadline.cancel()
                }
            }
        }
    }
}

/// A continuation resumed by the first of several racing events; later ones do nothing.
private final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(returning value: Bool) {
        let pending = continuation.withLock { c in
            defer { c = nil }
            return c
        }
        pending?.resume(returning: value)
    }
}
