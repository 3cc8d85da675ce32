/// How the fake server answers requests.
enum FakeServerBehavior: Sendable, Equatable {
    /// Executes every request and replies at once.
    case normal
    /// Reads requests and never replies.
    case silent
    /// For the next `count` create requests: executes them, then closes the connection
    /// without replying (the outcome is unknown to the client).
    case dropAfterExecuting(count: Int)
    /// Replies with bytes that are not a Kamino frame.
    case corrupt
    /// Holds replies until `count` are waiting on one connection, then sends them in
    /// reverse order (proves pipelining and matching by request id).
    case holdAndReverse(count: Int)
    /// Executes requests but holds every reply until `FakeServerState.releaseHeld()`;
    /// the first one held is replaced by an error reply with `firstErrorCode`, if given.
    case holdUntilReleased(firstErrorCode: UInt16?)
    /// A follower: creates are answered `not_primary` naming `primary` (empty when nil);
    /// reads are executed and answered with `state_lsn` = `stateLSN`.
    case follower(primary: String?, stateLSN: UInt64)
    /// Executes the next request, then answers it with an error reply of `code` (as a
    /// primary whose sync quorum timed out); later requests are answered normally.
    case executeThenError(code: UInt16)
}
