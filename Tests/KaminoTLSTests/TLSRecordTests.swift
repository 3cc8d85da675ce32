import KaminoTestSupport
import KaminoTLS
import NIOCore
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
}
