import NIOCore
import NIOPosix

/// An in-process Kamino server on 127.0.0.1 backed by an in-memory ledger, with
/// switchable misbehaviors (see `FakeServerBehavior`).
final class FakeServer: Sendable {
    let state: FakeServerState
    let port: Int
    private let channel: any Channel

    private init(state: FakeServerState, port: Int, channel: any Channel) {
        self.state = state
        self.port = port
        self.channel = channel
    }

    /// `127.0.0.1:port`.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts a server on `port` (0: an ephemeral port), sharing `state` if given.
    static func start(port: Int = 0, state: FakeServerState = FakeServerState()) async throws -> FakeServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                state.add(child)
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(FakeServerHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return FakeServer(state: state, port: channel.localAddress?.port ?? 0, channel: channel)
    }

    /// Stops listening and closes every connection.
    func stop() async {
        try? await channel.close()
        state.closeChildren()
    }

    /// A port on 127.0.0.1 where nothing listens (bound, then released).
    static func deadPort() async throws -> Int {
        let server = try await start()
        await server.stop()
        return server.port
    }
}
