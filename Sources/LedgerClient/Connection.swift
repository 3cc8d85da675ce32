import LedgerWire
import NIOCore

/// One open connection to a server: sends requests and awaits their replies.
struct Connection: Sendable {
    /// The channel, with a `ClientChannelHandler` in its pipeline.
    let channel: any Channel
    /// Where it is connected.
    let address: ServerAddress

    /// False once the connection is closed; a new one is then needed.
    var isActive: Bool { channel.isActive }

    /// Sends `request` and waits for its reply, at most `timeout`.
    func send(_ request: Request, timeout: Duration) async throws(KaminoClientError) -> AnsweredReply {
        let promise = channel.eventLoop.makePromise(of: AnsweredReply.self)
        let outbound = OutboundRequest(request: request, timeout: .nanoseconds(timeout.nanoseconds), promise: promise)
        channel.writeAndFlush(outbound).whenFailure { error in
            // Completing a promise twice is a no-op: the handler may have failed it first.
            promise.fail(KaminoClientError.wrap(error))
        }
        do {
            return try await promise.futureResult.get()
        } catch {
            throw KaminoClientError.wrap(error)
        }
    }

    /// Takes no new request and closes once the requests in flight are answered.
    func retire() {
        channel.pipeline.fireUserInboundEventTriggered(ClientChannelHandler.Retire())
    }

    /// Closes the connection; requests in flight fail with `connectionFailed`.
    func close() {
        channel.close(promise: nil)
    }
}
