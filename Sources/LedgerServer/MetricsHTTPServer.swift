package import NIOCore
import NIOPosix
import ServiceLifecycle

/// A tiny HTTP/1.1 endpoint that answers `GET /metrics` with the server's counters in the
/// Prometheus text format (any other path: 404). One request per connection.
package final class MetricsHTTPServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let render: @Sendable () -> String
    private let listener = ListenerBox()

    package init(host: String, port: Int, group: any EventLoopGroup, render: @escaping @Sendable () -> String) {
        self.host = host
        self.port = port
        self.group = group
        self.render = render
    }

    /// Binds the metrics port; returns the bound address.
    package func start() async throws(ServerError) -> SocketAddress {
        let render = self.render
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(render: render))
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

/// Reads one HTTP request head (up to 8 KiB) and answers it.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let render: @Sendable () -> String
    private var head = ""
    private var answered = false

    init(render: @escaping @Sendable () -> String) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var buffer = unwrapInboundIn(data)
        head += buffer.readString(length: buffer.readableBytes) ?? ""
        guard head.contains("\r\n\r\n") || head.contains("\n\n") || head.utf8.count > 8192 else { return }
        answered = true
        let requestLine = head.split(separator: "\n", maxSplits: 1).first ?? ""
        let parts = requestLine.split(separator: " ")
        let ok = parts.count >= 2 && parts[0] == "GET" && (parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?"))
        let body = ok ? render() : "not found\n"
        let status = ok ? "200 OK" : "404 Not Found"
        let response = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        var out = context.channel.allocator.buffer(capacity: response.utf8.count)
        out.writeString(response)
        context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
