package import KaminoTLS
package import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The operator's HTTP endpoint (NIOHTTP1): `GET /metrics` (Prometheus text format),
/// `GET /healthz` (200 while the process serves) and `GET /readyz` (200 once recovered and
/// while the log accepts writes, 503 otherwise). Anything else: 404; other methods: 405.
/// With `tls`, HTTPS only (the client port's TLS context).
package final class MetricsHTTPServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let render: @Sendable () -> String
    private let ready: @Sendable () -> Bool
    private let listener = ListenerBox()
    /// When set, `/metrics` needs `Authorization: Bearer <token>` (docs/security.md).
    private let bearerToken: String?
    private let tls: TLSContext?

    package init(host: String, port: Int, group: any EventLoopGroup, bearerToken: String? = nil, tls: TLSContext? = nil,
                 ready: @escaping @Sendable () -> Bool = { true }, render: @escaping @Sendable () -> String) {
        self.bearerToken = bearerToken
        self.tls = tls
        self.host = host
        self.port = port
        self.group = group
        self.render = render
        self.ready = ready
    }

    /// Binds the metrics port; returns the bound address.
    package func start() async throws(ServerError) -> SocketAddress {
        let render = self.render
        let ready = self.ready
        let bearerToken = self.bearerToken
        let tls = self.tls
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tls.makeHandler()) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(OperatorHTTPHandler(render: render, ready: ready, bearerToken: bearerToken))
                }
            }
        return try await listener.bind(bootstrap, host: host, port: port, purpose: "serve metrics")
    }

    /// Serves until graceful shutdown, then closes the listening socket.
    package func run() async throws {
        try? await gracefulShutdown()
        if let channel = listener.take() { try? await channel.close() }
    }
}

/// Answers each request of an HTTP/1.1 connection (keep-alive as the client asks).
final class OperatorHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private let ready: @Sendable () -> Bool
    private var head: HTTPRequestHead?
    private let bearerToken: String?

    init(render: @escaping @Sendable () -> String, ready: @escaping @Sendable () -> Bool, bearerToken: String? = nil) {
        self.bearerToken = bearerToken
        self.render = render
        self.ready = ready
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        let body: String
        var contentType = "text/plain; charset=utf-8"
        if head.method != .GET && head.method != .HEAD {
            (status, body) = (.methodNotAllowed, "only GET\n")
        } else {
            switch path {
            case "/metrics" where !MetricsBearer.authorized(head.headers["Authorization"].first, token: bearerToken):
                (status, body) = (.unauthorized, "a bearer token is required (Authorization: Bearer ...)\n")
            case "/metrics":
                (status, body) = (.ok, render())
                contentType = "text/plain; version=0.0.4; charset=utf-8"
            case "/healthz":
                (status, body) = (.ok, "ok\n")
            case "/readyz":
                (status, body) = ready() ? (.ok, "ready\n") : (.serviceUnavailable, "not ready: the log does not accept writes\n")
            default:
                (status, body) = (.notFound, "not found (try /metrics, /healthz, /readyz)\n")
            }
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        let keepAlive = head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
