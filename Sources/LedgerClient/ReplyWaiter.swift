import Synchronization

/// Where the answer to one request goes: completed once (the first completion wins),
/// by the channel handler (reply, error reply, timeout, lost connection) or by the
/// caller's cancellation, and awaited by the caller with one continuation.
///
/// A completion that comes before the caller awaits is kept and handed over at once, so
/// the handler never waits for the caller and the caller never misses an answer.
final class ReplyWaiter: Sendable {
    typealias Answer = Result<AnsweredReply, KaminoClientError>

    private enum State {
        /// Neither completed nor awaited yet.
        case idle
        /// The caller is suspended on this continuation.
        case waiting(UnsafeContinuation<Answer, Never>)
        /// Completed with this answer (handed to the caller, or kept for it).
        case done(Answer)
    }

    private let state = Mutex(State.idle)

    /// Completes the request with `answer`; a no-op when it is already completed.
    func complete(_ answer: Answer) {
        let continuation: UnsafeContinuation<Answer, Never>? = state.withLock { s in
            switch s {
            case .idle:
                s = .done(answer)
                return nil
            case .waiting(let c):
                s = .done(answer)
                return c
            case .done:
                return nil
            }
        }
        continuation?.resume(returning: answer)
    }

    /// Suspends until the request is completed and returns its answer.
    ///
    /// Precondition: called at most once per waiter (one caller owns it).
    func wait() async -> Answer {
        await withUnsafeContinuation { (c: UnsafeContinuation<Answer, Never>) in
            let ready: Answer? = state.withLock { s in
                switch s {
                case .idle:
                    s = .waiting(c)
                    return nil
                case .waiting:
                    preconditionFailure("a reply waiter is awaited by one caller only")
                case .done(let answer):
                    return answer
                }
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// The answer, once completed; nil while pending.
    var answer: Answer? {
        state.withLock { s in
            if case .done(let answer) = s { return answer }
            return nil
        }
    }
}
