import NIOCore

/// Where a started request's reply goes and what its accounting needs, kept by value
/// beside the request (in the write coalescer's queue, or captured by a read's waiter)
/// instead of in a closure made per request: no allocation, and fewer retains, per
/// request (`SessionHandler.answered`).
struct ReplyRoute {
    /// The connection's pipeline context, on the loop the reply is written from.
    let context: ChannelHandlerContext
    /// The reply bytes the request reserved (`SessionState.requestDecoded(replyBound:)`).
    let bound: Int
    /// When the request started (its latency metric).
    let started: NIODeadline
}
