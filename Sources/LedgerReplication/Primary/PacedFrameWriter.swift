import NIOCore

/// Writes frames straight into a connection's channel and keeps at most two of them
/// unwritten: each write waits for the one before it to reach the socket. The async
/// channel's writer does not hold a sender back (its writes hop to the event loop before
/// the channel's writability changes), so a snapshot sent through it to a follower that
/// reads slowly, or not at all, was read from disk into memory whole (a 138 MB snapshot
/// grew the primary by 150 MB), and the close after the last chunk dropped what was still
/// queued, so the follower saw the stream end inside a frame and fetched again.
struct PacedFrameWriter {
    private let channel: any Channel
    private var previous: EventLoopFuture<Void>?

    init(channel: any Channel) { self.channel = channel }

    /// Queues `frame` and returns once the frame before it was written to the socket.
    mutating func write(_ frame: ReplicationFrame) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(frame, promise: promise)
        let written = promise.futureResult
        defer { previous = written }
        try await previous?.get()
    }

    /// Returns once every frame was written to the socket (call before closing).
    mutating func finish() async throws {
        try await previous?.get()
        previous = nil
    }
}
