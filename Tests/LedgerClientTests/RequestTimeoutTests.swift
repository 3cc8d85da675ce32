import LedgerCore
import LedgerWire
import NIOCore
import NIOEmbedded
import Testing

@testable import LedgerClient

/// Request timeouts on one connection, driven by an `EmbeddedEventLoop`'s virtual time:
/// the handler's NIO timers fire when the test advances the loop, never on wall time.
@Suite struct RequestTimeoutTests {
    @Test func aRequestTimesOutExactlyAtItsTimeoutAndRetiresTheConnection() throws {
        let connection = try TestConnection()
        let lookup = connection.send(.lookupAccounts([1]), timeout: .milliseconds(200))
        connection.loop.advanceTime(by: .milliseconds(199))
        #expect(lookup.isPending, "still waiting one millisecond before its timeout")
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(lookup.code == .timeout)
        // Retired, and with nothing else in flight: closed at once.
        #expect(!connection.channel.isActive)
    }

    @Test func lateErrorReplyDoesNotFailAConcurrentRequest() throws {
        let connection = try TestConnection()
        let lookup = connection.send(.lookupAccounts([1]), timeout: .milliseconds(600))  // request id 1
        connection.loop.advanceTime(by: .milliseconds(300))
        let query = connection.send(.queryAccounts(QueryFilter(ledger: 700, limit: 10)), timeout: .milliseconds(600))
        connection.loop.advanceTime(by: .milliseconds(300))
        #expect(lookup.code == .timeout)
        #expect(query.isPending, "the concurrent request still waits for its reply")
        // Retired: a new request is refused before it is sent (so that the caller may
        // retry it on another connection), but the one in flight keeps the connection open.
        #expect(connection.send(.lookupAccounts([2]), timeout: .seconds(5)).code == .connectionFailed)
        #expect(connection.channel.isActive)

        // The late error reply (shutting_down) to the timed-out request arrives first,
        // then the concurrent request's reply: it must still succeed.
        try connection.receive(
            .errorReply(ErrorReply(requestId: 1, operation: LedgerCore.Operation.lookupAccounts.rawValue, rawCode: 13,
                message: "late")))
        #expect(query.isPending)
        try connection.receive(.reply(id: 2, .queryAccounts([Fixtures.account(1)])))
        #expect(query.reply?.recordCount == 1)
        #expect(!connection.channel.isActive, "retired and now idle: closed")
    }
}

/// A `ClientChannelHandler` in an `EmbeddedChannel`, connected.
private struct TestConnection {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop

    init() throws {
        loop = EmbeddedEventLoop()
        channel = EmbeddedChannel(handler: ClientChannelHandler(), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    /// Writes `request` through the handler.
    func send(_ request: Request, timeout: TimeAmount) -> Outcome {
        let waiter = ReplyWaiter()
        channel.writeAndFlush(OutboundRequest(request: request, timeout: timeout, waiter: waiter), promise: nil)
        return Outcome(waiter: waiter)
    }

    /// Feeds `message`, as the server would send it, into the handler.
    func receive(_ message: Message) throws {
        var buffer = channel.allocator.buffer(capacity: 256)
        try MessageEncoding.encode(message, into: &buffer)
        try channel.writeInbound(buffer)
    }
}

/// How one request ended, once it has.
private struct Outcome {
    let waiter: ReplyWaiter

    var isPending: Bool { waiter.answer == nil }

    /// The code of the error it failed with, or nil (pending, or answered).
    var code: KaminoClientError.Code? {
        guard case .failure(let e) = waiter.answer else { return nil }
        return e.code
    }

    var reply: Reply? {
        guard case .success(let r) = waiter.answer else { return nil }
        return r.reply
    }
}
