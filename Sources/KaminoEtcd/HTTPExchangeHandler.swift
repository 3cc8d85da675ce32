import NIOCore
import NIOHTTP1

/// One HTTP response, fully read.
struct HTTPReply: Sendable {
    /// The status code.
    let status: Int
    /// The whole body (chunked bodies joined; trailers dropped).
    let body: ByteBuffer
}

/// One POST to send: its path, JSON body, deadline and the promise its reply completes.
struct HTTPExchange {
    /// Request target, for example `/v3/kv/range`.
    let path: String
    /// `Host` header value.
    let host: String
    /// The JSON body.
    let body: ByteBuffer
    /// When the reply must have arrived; past it the connection is closed.
    let deadline: NIODeadline
    /// Completed with the reply, or failed with an `EtcdError`.
    let promise: EventLoopPromise<HTTPReply>
}

/// Sends HTTP/1.1 POSTs on one keep-alive connection and pairs each response with its
/// request in order (pipelining: HTTP/1.1 answers in request order).
///
/// A request whose deadline passes fails every request in flight with `timeout` and closes
/// the connection, because a late response would otherwise be paired with the next request.
/// Losing the connection fails every request in flight with `connectionFailed`.
final class HTTPExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    /// Largest response body accepted; a larger one is a bad response and drops the connection.
    static let maximumBodyBytes = 16 << 20

    /// A request sent and not yet answered.
    private struct InFlight {
        let id: UInt64
        let promise: EventLoopPromise<HTTPReply>
        let timer: Scheduled<Void>
    }

    private var inFlight = CircularBuffer<InFlight>()
    private var nextID: UInt64 = 0
    private var status: Int?
    private var body: ByteBuffer?
    private var failed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard !failed else {
            exchange.promise.fail(EtcdError(.connectionFailed, "connection already closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        nextID &+= 1
        let id = nextID
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) {
            let (handler, context) = loopBound.value
            handler.timedOut(context: context, id: id)
        }
        inFlight.append(InFlight(id: id, promise: exchange.promise, timer: timer))
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: exchange.path)
        head.headers.add(name: "Host", value: exchange.host)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(exchange.body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var part):
            guard body != nil else { return failAll(context: context, EtcdError(.badResponse, "HTTP body before its head")) }
            guard (body?.readableBytes ?? 0) + part.readableBytes <= Self.maximumBodyBytes else {
                return failAll(context: context, EtcdError(.badResponse, "response body over \(Self.maximumBodyBytes) bytes"))
            }
            body?.writeBuffer(&part)
        case .end:
            guard let status, let body else {
                return failAll(context: context, EtcdError(.badResponse, "HTTP response end before its head"))
            }
            self.status = nil
            self.body = nil
            guard let first = inFlight.popFirst() else {
                return failAll(context: context, EtcdError(.badResponse, "HTTP response without a request"))
            }
            first.timer.cancel()
            first.promise.succeed(HTTPReply(status: status, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(context: context, EtcdError(.connectionFailed, "connection closed by etcd"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(context: context, EtcdError(.connectionFailed, "connection error: \(error)"))
    }

    /// The request `id`'s deadline passed: if it is still unanswered, give up on the connection.
    private func timedOut(context: ChannelHandlerContext, id: UInt64) {
        guard inFlight.contains(where: { $0.id == id }) else { return }
        failAll(context: context, EtcdError(.timeout, "no reply from etcd before the deadline"))
    }

    /// Fails every request in flight with `error` and closes the connection.
    private func failAll(context: ChannelHandlerContext, _ error: EtcdError) {
        let wasFailed = failed
        failed = true
        while let request = inFlight.popFirst() {
            request.timer.cancel()
            request.promise.fail(error)
        }
        if !wasFailed { context.close(promise: nil) }
    }
}
