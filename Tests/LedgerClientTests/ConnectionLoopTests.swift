import KaminoTLS
import KaminoTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import LedgerClient

/// Which event loop a client's connection runs on: the connections of several clients
/// sharing a group spread over its loops, with and without TLS (a TLS connection once
/// took two loops from the group, one for the channel and one for its handshake
/// promise, so with two loops every channel landed on the same one).
@Suite(.serialized)
struct ConnectionLoopTests {
    @Test(arguments: [false, true])
    func connectionsOfClientsSharingAGroupUseEveryLoop(tls: Bool) async throws {
        let certificates = try #require(TestCertificates.make(), "openssl could not make the test certificates")
        defer { certificates.remove() }
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        // A listener that only completes TLS handshakes (or accepts plain connections).
        let serverContext = try TLSContext(
            role: .server,
            configuration: TLSConfiguration(
                certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey))
        let server = try await ServerBootstrap(group: serverGroup)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if tls { try channel.pipeline.syncOperations.addHandler(try serverContext.makeHandler()) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)

        var options = KaminoClientOptions(requestTimeout: .seconds(10), retry: .none)
        if tls { options.tls = KaminoTLSOptions(caFile: certificates.caCertificate) }
        var loops: [ObjectIdentifier] = []
        var managers: [ConnectionManager] = []
        for _ in 0..<4 {
            let manager = ConnectionManager(
                addresses: [try ServerAddress(host: "127.0.0.1", port: port)], options: options, group: clientGroup,
                logger: Logger(label: "test"))
            managers.append(manager)
            let connection = try await manager.connection()
            loops.append(ObjectIdentifier(connection.channel.eventLoop as AnyObject))
        }
        for manager in managers { await manager.close() }
        try await server.close().get()
        try await clientGroup.shutdownGracefully()
        try await serverGroup.shutdownGracefully()
        // Round robin over two loops: the four connections alternate.
        #expect(Set(loops).count == 2, "the connections ran on \(Set(loops).count) loop(s) of 2")
        #expect(loops[0] != loops[1] && loops[1] != loops[2] && loops[2] != loops[3])
    }
}
