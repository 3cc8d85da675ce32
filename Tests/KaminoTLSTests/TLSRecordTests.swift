import CKaminoTLS
import Glibc
import KaminoTestSupport
import KaminoTLS
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// How the handler maps writes and reads onto TLS records: the writes of one flush become
/// one record, and records are delivered whole however the socket splits or joins them.
@Suite(.serialized)
struct TLSRecordTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try #require(TestCertificates.make(), "openssl could not make the test certificates")
    }

    var serverConfiguration: TLSConfiguration {
        TLSConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
    }

    var clientConfiguration: TLSConfiguration {
        TLSConfiguration(caFile: certificates.caCertificate, serverName: "127.0.0.1")
    }

    /// A connected client whose handshake is done (one byte echoed), with its record of
    /// what it sent cleared.
    func connected(_ peers: TLSPeers) throws -> (any Channel, Observed) {
        let (channel, observed) = try peers.connect(clientConfiguration)
        try channel.writeAndFlush(ByteBuffer(bytes: [0])).wait()
        #expect(observed.wait { $0.bytes == [0] })
        observed.state.withLock {
            $0.sent = []
            $0.bytes = []
        }
        return (channel, observed)
    }

    @Test func theWritesOfOneFlushBecomeOneRecord() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try connected(peers)
        let parts: [[UInt8]] = [Array(repeating: 1, count: 100), Array(repeating: 2, count: 40), [3, 3, 3]]
        let written = parts.map { channel.write(ByteBuffer(bytes: $0)) }
        channel.flush()
        for promise in written { try promise.wait() }
        #expect(observed.wait { $0.bytes == parts.flatMap { $0 } })
        let sent = observed.snapshot.sent
        #expect(sent.count == 1, "one socket write per flush, got \(sent.count)")
        let records = tlsRecords(sent.flatMap { $0 })
        // TLS 1.3: the plaintext, its content type byte and a 16-byte tag, in one record.
        #expect(records.map(\.type) == [23], "\(records)")
        #expect(records.first?.length == 143 + 1 + 16)
        try channel.close().wait()
    }

    @Test func aRecordSplitOverTwoReadsIsDeliveredWhole() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try connected(peers)
        let message = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        try channel.triggerUserOutboundEvent(WireShaper.Command.splitNextWrite).wait()
        try channel.writeAndFlush(ByteBuffer(bytes: message)).wait()
        #expect(observed.wait { $0.bytes == message }, "\(observed.snapshot.bytes.count) bytes echoed")
        let server = try #require(peers.serverSide(0))
        #expect(server.snapshot.errors.isEmpty, "\(server.snapshot.errors)")
        try channel.close().wait()
    }

    @Test func twoRecordsInOneReadAreBothDelivered() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try connected(peers)
        try channel.triggerUserOutboundEvent(WireShaper.Command.joinNextTwoWrites).wait()
        let first = channel.writeAndFlush(ByteBuffer(bytes: [1, 2, 3]))
        let second = channel.writeAndFlush(ByteBuffer(bytes: [4, 5]))
        try first.wait()
        try second.wait()
        // Nothing else is sent: both records must come out of the one read that held them.
        #expect(observed.wait { $0.bytes == [1, 2, 3, 4, 5] }, "\(observed.snapshot.bytes)")
        #expect(tlsRecords(observed.snapshot.sent.flatMap { $0 }).count == 2)
        try channel.close().wait()
    }

    /// Errors another libcrypto user left on the event loop's thread (both peers run on
    /// the one loop here) do not fail a record that arrives in two reads (a want-read in
    /// between) nor the close_notify at the end.
    @Test func aStaleOpenSSLErrorOnTheEventLoopFailsNothing() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try connected(peers)
        let leave = { try channel.eventLoop.submit { kamino_tls_test_leave_stale_error() }.wait() }
        #expect(try leave() == 1)
        let message = (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        try channel.triggerUserOutboundEvent(WireShaper.Command.splitNextWrite).wait()
        try channel.writeAndFlush(ByteBuffer(bytes: message)).wait()
        #expect(observed.wait { $0.bytes == message }, "\(observed.snapshot.bytes.count) bytes echoed")
        #expect(try leave() == 1)
        try channel.close().wait()
        let server = try #require(peers.serverSide(0))
        #expect(server.wait { $0.inactive })
        #expect(server.snapshot.errors.isEmpty, "\(server.snapshot.errors)")
        #expect(observed.snapshot.errors.isEmpty, "\(observed.snapshot.errors)")
    }

    /// Read buffers are reused, but never one a later handler still holds: a handler that
    /// keeps every buffer it was given (as a decoder holding a partial frame or a request
    /// holding a slice does) finds each one as it was delivered.
    @Test func aReadBufferStillHeldIsNeverOverwritten() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let context = try TLSContext(role: .client, configuration: clientConfiguration)
        let kept = KeptBuffers()
        let channel = try ClientBootstrap(group: peers.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try context.makeHandler())
                    try channel.pipeline.syncOperations.addHandler(BufferKeeper(kept))
                }
            }
            .connect(host: "127.0.0.1", port: peers.port).wait()
        let messages = (0..<40).map { index in (0..<(20 + index)).map { UInt8(truncatingIfNeeded: index * 7 + $0) } }
        for (index, message) in messages.enumerated() {
            try channel.writeAndFlush(ByteBuffer(bytes: message)).wait()
            // One echo (one read) at a time.
            #expect(kept.wait(count: index + 1), "\(kept.buffers.count) buffers after message \(index)")
        }
        let delivered = kept.buffers.map { Array($0.readableBytesView) }
        #expect(delivered == messages)
        try channel.close().wait()
    }
}

/// The buffers a `BufferKeeper` was given.
final class KeptBuffers: Sendable {
    private let state = Mutex<[ByteBuffer]>([])
    var buffers: [ByteBuffer] { state.withLock { $0 } }
    func add(_ buffer: ByteBuffer) { state.withLock { $0.append(buffer) } }

    /// Waits up to 10 s until the bytes of at least `count` buffers came.
    func wait(count: Int) -> Bool {
        for _ in 0..<2000 {
            if buffers.count >= count { return true }
            usleep(5_000)
        }
        return false
    }
}

/// Keeps every plaintext buffer it receives, as given (no copy).
final class BufferKeeper: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let kept: KeptBuffers

    init(_ kept: KeptBuffers) { self.kept = kept }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        kept.add(unwrapInboundIn(data))
    }
}
