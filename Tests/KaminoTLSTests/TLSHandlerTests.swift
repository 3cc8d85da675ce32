import CKaminoTLS
import Glibc
import KaminoTestSupport
import KaminoTLS
import NIOCore
import Testing

/// The TLS handler over real sockets and real OpenSSL handshakes.
@Suite(.serialized)
struct TLSHandlerTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try #require(TestCertificates.make(), "openssl could not make the test certificates")
    }

    var serverConfiguration: TLSConfiguration {
        TLSConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey,
                         caFile: certificates.caCertificate)
    }

    var clientConfiguration: TLSConfiguration {
        TLSConfiguration(caFile: certificates.caCertificate, serverName: "127.0.0.1")
    }

    @Test func echoesOverTLS13AndTLS12() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        for options in [Int32(0), Int32(KAMINO_TLS_TEST_TLS12_ONLY)] {
            var configuration = clientConfiguration
            configuration.testOptions = options
            let (channel, observed) = try peers.connect(configuration)
            // Written before the handshake completes: held, then sent.
            let message = Array("hello over tls".utf8)
            try channel.writeAndFlush(ByteBuffer(bytes: message)).wait()
            #expect(observed.wait { $0.bytes == message })
            let handshake = try #require(observed.snapshot.handshake)
            #expect(handshake.version == (options == 0 ? "TLSv1.3" : "TLSv1.2"))
            #expect(handshake.cipher.contains("GCM") || handshake.cipher.contains("CHACHA20"))
            try channel.close().wait()
        }
    }

    @Test func largeWritesKeepOrderAndCompleteOnlyWhenFlushed() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try peers.connect(clientConfiguration)
        var expected: [UInt8] = []
        var promises: [EventLoopFuture<Void>] = []
        let completed = Counter()
        for round in 0..<64 {
            let chunk = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
            expected += chunk
            let written = channel.write(ByteBuffer(bytes: chunk))
            written.whenComplete { _ in completed.add() }
            promises.append(written)
        }
        usleep(200_000)
        #expect(completed.value == 0, "a write completed before its flush")
        channel.flush()
        for promise in promises { try promise.wait() }
        #expect(observed.wait(seconds: 30) { $0.bytes.count >= expected.count },
                "\(observed.snapshot.bytes.count) of \(expected.count) bytes echoed; server got \(peers.serverSide(0)?.snapshot.bytes.count ?? -1) \(peers.serverSide(0)?.snapshot.errors ?? []) \(peers.serverSide(0)?.snapshot.otherErrors ?? []) \(peers.serverSide(0)?.snapshot.inactive ?? false), errors \(observed.snapshot.errors) \(observed.snapshot.otherErrors)")
        #expect(observed.snapshot.bytes == expected)
        try channel.close().wait()
    }

    @Test func closeNotifyBothWays() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        // The client closes: the server sees close_notify (no truncation error).
        let (first, firstObserved) = try peers.connect(clientConfiguration)
        try first.writeAndFlush(ByteBuffer(bytes: [1, 2, 3])).wait()
        #expect(firstObserved.wait { $0.bytes == [1, 2, 3] })
        try first.close().wait()
        let server = try #require(peers.serverSide(0))
        #expect(server.wait { $0.inactive })
        #expect(server.snapshot.errors.isEmpty, "\(server.snapshot.errors)")
        // The server closes (asked by the byte 0xFF): the client sees close_notify.
        let (second, secondObserved) = try peers.connect(clientConfiguration)
        try second.writeAndFlush(ByteBuffer(bytes: [0xFF])).wait()
        #expect(secondObserved.wait { $0.inactive })
        #expect(secondObserved.snapshot.bytes == [0xFF])
        #expect(secondObserved.snapshot.errors.isEmpty, "\(secondObserved.snapshot.errors)")
        let closingServer = try #require(peers.serverSide(1))
        #expect(closingServer.wait { $0.inactive })
        #expect(closingServer.snapshot.errors.isEmpty, "\(closingServer.snapshot.errors)")
    }

    @Test func truncatedRecordAndMissingCloseNotifyAreReported() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (first, firstObserved) = try peers.connect(clientConfiguration)
        try first.writeAndFlush(ByteBuffer(bytes: [9])).wait()
        #expect(firstObserved.wait { $0.bytes == [9] })
        try first.triggerUserOutboundEvent(Saboteur.Command.truncateNextWrite).wait()
        first.writeAndFlush(ByteBuffer(bytes: Array(repeating: 7, count: 4096)), promise: nil)
        let truncatedServer = try #require(peers.serverSide(0))
        #expect(truncatedServer.wait { $0.inactive })
        #expect(truncatedServer.snapshot.errors.map(\.code) == [.truncated])
        #expect(truncatedServer.snapshot.errors.first?.message.contains("middle of a TLS record") == true)
        #expect(truncatedServer.snapshot.bytes == [9], "part of a truncated record was delivered")

        let (second, secondObserved) = try peers.connect(clientConfiguration)
        try second.writeAndFlush(ByteBuffer(bytes: [8])).wait()
        #expect(secondObserved.wait { $0.bytes == [8] })
        try second.triggerUserOutboundEvent(Saboteur.Command.closeWithoutCloseNotify).wait()
        let uncleanServer = try #require(peers.serverSide(1))
        #expect(uncleanServer.wait { $0.inactive })
        #expect(uncleanServer.snapshot.errors.map(\.code) == [.truncated])
    }

    @Test func plaintextPeerIsRefused() throws {
        let peers = try TLSPeers(serverConfiguration)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try peers.connectPlain()
        try channel.writeAndFlush(ByteBuffer(bytes: Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))).wait()
        let server = try #require(peers.serverSide(0))
        #expect(server.wait { $0.inactive })
        #expect(server.snapshot.errors.map(\.code) == [.plaintextPeer])
        #expect(server.snapshot.bytes.isEmpty)
        #expect(observed.wait { $0.inactive })
        #expect(observed.snapshot.bytes.isEmpty, "the server answered a plaintext peer")
    }

    @Test func handshakeFailuresCloseWithAClearError() throws {
        // A server certificate from another CA, then a name the certificate does not carry.
        let other = TLSConfiguration(certificateChain: certificates.otherServerCertificate,
                                     privateKey: certificates.otherServerKey)
        let peers = try TLSPeers(other)
        defer { peers.shutdown(); certificates.remove() }
        let (channel, observed) = try peers.connect(clientConfiguration)
        channel.writeAndFlush(ByteBuffer(bytes: [1]), promise: nil)
        #expect(observed.wait { $0.inactive })
        let error = try #require(observed.snapshot.errors.first)
        #expect(error.code == .handshakeFailed)
        #expect(error.message.contains("certificate verify failed"), "\(error)")
        #expect(error.message.contains("unable to get local issuer certificate"), "\(error)")
        let server = try #require(peers.serverSide(0))
        #expect(server.wait { $0.inactive })
        #expect(server.snapshot.bytes.isEmpty)

        let named = try TLSPeers(serverConfiguration)
        defer { named.shutdown() }
        var wrongName = clientConfiguration
        wrongName.serverName = "kamino.example.com"
        let (second, secondObserved) = try named.connect(wrongName)
        _ = second
        #expect(secondObserved.wait { $0.inactive })
        #expect(secondObserved.snapshot.errors.first?.message.contains("hostname mismatch") == true,
                "\(secondObserved.snapshot.errors)")
    }

    @Test func mutualTLSRequiresAClientCertificate() throws {
        var configuration = serverConfiguration
        configuration.clientAuth = .required
        let peers = try TLSPeers(configuration)
        defer { peers.shutdown(); certificates.remove() }
        let (anonymous, anonymousObserved) = try peers.connect(clientConfiguration)
        anonymous.writeAndFlush(ByteBuffer(bytes: [1]), promise: nil)
        let refused = try #require(peers.serverSide(0))
        #expect(refused.wait { $0.inactive })
        #expect(refused.snapshot.errors.first?.code == .handshakeFailed)
        #expect(refused.snapshot.errors.first?.message.contains("peer did not return a certificate") == true,
                "\(refused.snapshot.errors)")
        #expect(refused.snapshot.bytes.isEmpty)
        #expect(anonymousObserved.wait { $0.inactive })

        var withCertificate = clientConfiguration
        withCertificate.certificateChain = certificates.clientCertificate
        withCertificate.privateKey = certificates.clientKey
        let (channel, observed) = try peers.connect(withCertificate)
        try channel.writeAndFlush(ByteBuffer(bytes: [5, 6])).wait()
        #expect(observed.wait { $0.bytes == [5, 6] })
        let accepted = try #require(peers.serverSide(1))
        #expect(accepted.snapshot.handshake?.peerSubject?.contains("kamino-test-client") == true)
        try channel.close().wait()
    }

    @Test func renegotiationIsRefused() throws {
        var server = serverConfiguration
        server.testOptions = Int32(KAMINO_TLS_TEST_TLS12_ONLY)
        let peers = try TLSPeers(server)
        defer { peers.shutdown(); certificates.remove() }
        var client = clientConfiguration
        client.testOptions = Int32(KAMINO_TLS_TEST_TLS12_ONLY | KAMINO_TLS_TEST_ALLOW_RENEGOTIATION)
        let (channel, observed) = try peers.connect(client)
        try channel.writeAndFlush(ByteBuffer(bytes: [1])).wait()
        #expect(observed.wait { $0.bytes == [1] })
        #expect(observed.snapshot.handshake?.version == "TLSv1.2")
        try channel.triggerUserOutboundEvent(TLSHandler.RenegotiateForTesting()).wait()
        #expect(observed.wait { $0.inactive })
        #expect(observed.snapshot.errors.first?.message.contains("no renegotiation") == true, "\(observed.snapshot.errors)")
    }

    @Test func reloadedCertificatesServeNewConnections() throws {
        let work = certificates.directory + "/live"
        #expect(mkdir(work, 0o755) == 0)
        let cert = work + "/server.pem"
        let key = work + "/server.key"
        #expect(runProcess(["/bin/cp", certificates.serverCertificate, cert], log: "/dev/null") == 0)
        #expect(runProcess(["/bin/cp", certificates.serverKey, key], log: "/dev/null") == 0)
        let peers = try TLSPeers(TLSConfiguration(certificateChain: cert, privateKey: key))
        defer { peers.shutdown(); certificates.remove() }
        let (before, beforeObserved) = try peers.connect(clientConfiguration)
        try before.writeAndFlush(ByteBuffer(bytes: [1])).wait()
        #expect(beforeObserved.wait { $0.bytes == [1] })

        #expect(runProcess(["/bin/cp", certificates.otherServerCertificate, cert], log: "/dev/null") == 0)
        #expect(runProcess(["/bin/cp", certificates.otherServerKey, key], log: "/dev/null") == 0)
        try peers.serverContext.reload()
        // New connections get the new certificate (signed by the other CA)...
        let (stale, staleObserved) = try peers.connect(clientConfiguration)
        stale.writeAndFlush(ByteBuffer(bytes: [2]), promise: nil)
        #expect(staleObserved.wait { $0.inactive })
        #expect(staleObserved.snapshot.errors.first?.code == .handshakeFailed)
        var otherCA = clientConfiguration
        otherCA.caFile = certificates.otherCACertificate
        let (fresh, freshObserved) = try peers.connect(otherCA)
        try fresh.writeAndFlush(ByteBuffer(bytes: [3])).wait()
        #expect(freshObserved.wait { $0.bytes == [3] })
        // ...while the established one keeps working.
        try before.writeAndFlush(ByteBuffer(bytes: [4])).wait()
        #expect(beforeObserved.wait { $0.bytes == [1, 4] })

        // A broken file leaves the context as it was.
        #expect(writeText("not a key", to: key))
        #expect(throws: TLSError.self) { try peers.serverContext.reload() }
        let (after, afterObserved) = try peers.connect(otherCA)
        try after.writeAndFlush(ByteBuffer(bytes: [5])).wait()
        #expect(afterObserved.wait { $0.bytes == [5] })
    }

    @Test func badConfigurationsAreRefusedWithTheFileNamed() throws {
        defer { certificates.remove() }
        let missing = TLSConfiguration(certificateChain: "/nonexistent/cert.pem", privateKey: certificates.serverKey)
        let error = try #require(throws: TLSError.self) { try TLSContext(role: .server, configuration: missing) }
        #expect(error.code == .configuration)
        #expect(error.message.contains("/nonexistent/cert.pem"))
        let mismatched = TLSConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.clientKey)
        #expect(throws: TLSError.self) { try TLSContext(role: .server, configuration: mismatched) }
        let noCA = TLSConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey,
                                    clientAuth: .required)
        #expect(throws: TLSError.self) { try TLSContext(role: .server, configuration: noCA) }
    }
}
