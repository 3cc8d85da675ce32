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

    @Test func aShorterTimeoutSentLaterFiresFirst() throws {
        // One timer serves the connection: a later request with an earlier deadline must
        // bring it forward.
        let connection = try TestConnection()
        let lookup = connection.send(.lookupAccounts([1]), timeout: .milliseconds(600))
        let query = connection.send(.queryAccounts(QueryFilter(ledger: 700, limit: 10)), timeout: .milliseconds(100))
        connection.loop.advanceTime(by: .milliseconds(100))
        #expect(query.code == .timeout)
        #expect(lookup.isPending, "its own deadline is 500 ms away")
        connection.loop.advanceTime(by: .milliseconds(499))
        #expect(lookup.isPending)
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(lookup.code == .timeout)
        #expect(!connection.channel.isActive)
    }

    @Test func requestsHandedOverTogetherLeaveInOneWrite() throws {
        let connection = try TestConnection()
        let first = ReplyWaiter()
        let second = ReplyWaiter()
        connection.handler.submitAndFlush([
            OutboundRequest(request: .lookupAccounts([1]), timeout: .seconds(5), waiter: first),
            OutboundRequest(request: .createTransfers([Transfer(id: 9)]), timeout: .seconds(5), waiter: second),
        ])
        let written = try #require(try connection.channel.readOutbound(as: ByteBuffer.self))
        #expect(try connection.channel.readOutbound(as: ByteBuffer.self) == nil, "one buffer, one flush")
        let processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .requests))
        var messages: [Message] = []
        try processor.process(buffer: written) { messages.append($0) }
        #expect(messages == [.request(id: 1, .lookupAccounts([1])), .request(id: 2, .createTransfers([Transfer(id: 9)]))])

        try connection.receive(.reply(id: 2, .createTransfers([CreateTransferResult(timestamp: 5, status: .created)])))
        try connection.receive(.reply(id: 1, .lookupAccounts([])))
        guard case .success(let a)? = first.answer, case .success(let b)? = second.answer else {
            Issue.record("both requests are answered")
            return
        }
        #expect(a.reply.recordCount == 0)
        #expect(b.reply.recordCount == 1)
    }
}

/// A `ClientChannelHandler` in an `EmbeddedChannel`, connected.
private struct TestConnection {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop
    let handler = ClientChannelHandler()

    init() throws {
        loop = EmbeddedEventLoop()
        channel = EmbeddedChannel(handler: handler, loop: loop)
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
