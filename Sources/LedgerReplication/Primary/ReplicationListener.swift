package import KaminoTLS
package import NIOCore
import NIOPosix

/// The primary's replication port: accepts follower connections and runs a
/// `FollowerSession` for each, until `run`'s task is cancelled.
package final class ReplicationListener: Sendable {
    private let server: NIOAsyncChannel<NIOAsyncChannel<ReplicationFrame, ReplicationFrame>, Never>
    /// The address bound (the real port when 0 was asked).
    package let localAddress: SocketAddress?

    private init(server: NIOAsyncChannel<NIOAsyncChannel<ReplicationFrame, ReplicationFrame>, Never>) {
        self.server = server
        localAddress = server.channel.localAddress
    }

    /// Binds `host:port` (port 0 picks one); with `tls`, followers connect over mutual TLS.
    /// - Throws: `ReplicationFailure(.storage…)` never; NIO's bind errors (address in use).
    package static func bind(
        host: String, port: Int, group: any EventLoopGroup, tls: TLSContext? = nil
    ) async throws -> ReplicationListener {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tls.makeHandler()) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ReplicationFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(ReplicationFrameEncoder()))
                    return try NIOAsyncChannel<ReplicationFrame, ReplicationFrame>(wrappingChannelSynchronously: channel)
                }
            }
        return ReplicationListener(server: server)
    }

    /// Serves followers with `context` until cancelled; then closes the port and every
    /// follower connection.
    package func run(_ context: PrimaryContext) async {
        do {
            try await withTaskCancellationHandler {
                try await server.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in inbound {
                            let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "unknown"
                            group.addTask {
                                await withTaskCancellationHandler {
                                    await FollowerSession(context: context, peer: peer).run(connection)
                                } onCancel: {
                                    connection.channel.close(promise: nil)
                                }
                            }
                        }
                    }
                }
            } onCancel: {
                server.channel.close(promise: nil)
            }
        } catch {
            context.logger.debug("replication: listener stopped", metadata: ["error": "\(error)"])
        }
    }
}
