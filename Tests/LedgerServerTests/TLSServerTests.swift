import Glibc
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

/// The real `kamino serve` / `kamino follow` with TLS: certificates made by the `openssl`
/// command line for each test.
@Suite("TLS on the real binary", .serialized)
struct TLSServerTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try #require(TestCertificates.make(), "openssl could not make the test certificates")
    }

    var serverFlags: [String] {
        ["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey]
    }

    func client(_ port: UInt16, tls: KaminoTLSOptions?) throws -> KaminoClient {
        var options = KaminoClientOptions(requestTimeout: .seconds(5), retry: .none)
        options.tls = tls
        return try KaminoClient(addresses: ["127.0.0.1:\(port)"], options: options)
    }

    /// Sends SIGHUP and waits (up to 4 s) for the server to log that it re-read its TLS files.
    func reloadCertificates(_ server: ServerProcess) -> Bool {
        kill(server.pid, SIGHUP)
        for _ in 0..<200 {
            if server.output.contains("certificates reloaded") { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func tlsServesAndRefusesPlaintextAndAWrongCA() async throws {
        defer { certificates.remove() }
        let server = try #require(ServerProcess.start(dataDir: temporaryDataDir("tls"), extra: serverFlags, metrics: true))
        defer { server.terminate() }
        let good = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate))
        let accounts = (1...2).map { Account(id: UInt128($0), ledger: 700, code: 10) }
        #expect(try await good.createAccounts(accounts).map(\.status) == [.created, .created])
        #expect(try await good.lookupAccounts([1, 2]).count == 2)

        let plaintext = try client(server.port, tls: nil)
        await #expect(throws: KaminoClientError.self) { _ = try await plaintext.lookupAccounts([1]) }
        await plaintext.close()

        let wrongCA = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.otherCACertificate))
        let refused = await #expect(throws: KaminoClientError.self) { _ = try await wrongCA.lookupAccounts([1]) }
        #expect(refused?.code == .connectionFailed)
        #expect(refused?.message.contains("certificate verify failed") == true, "\(String(describing: refused))")
        await wrongCA.close()

        let wrongName = try client(
            server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate, serverName: "ledger.example.com"))
        await #expect(throws: KaminoClientError.self) { _ = try await wrongName.lookupAccounts([1]) }
        await wrongName.close()

        // Nothing listening: the connection is refused before any handshake.
        let closedPort = try #require(freeLoopbackTCPPort())
        let nobody = try client(closedPort, tls: KaminoTLSOptions(caFile: certificates.caCertificate))
        await #expect(throws: KaminoClientError.self) { _ = try await nobody.lookupAccounts([1]) }
        await nobody.close()

        // The server kept serving the good client throughout.
        #expect(try await good.lookupAccounts([1, 2]).count == 2)
        await good.close()

        // The failures are counted by reason and audited with the peer's address.
        let metricsPort = try #require(server.metricsPort)
        let metrics = try #require(TLSProbe.exchange(
            port: metricsPort, caFile: certificates.caCertificate,
            request: Array("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)))
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains("kamino_tls_failures_total{reason=\"plaintext_peer\"} 1"), "\(text)")
        #expect(text.contains("kamino_tls_failures_total{reason=\"handshake_failed\"}"), "\(text)")
        #expect(server.output.contains("event=tls_failed"), "\(server.output)")
        #expect(server.output.contains("127.0.0.1"))
        server.expectCleanExit()
    }

    @Test func sighupReloadsTheCertificates() async throws {
        defer { certificates.remove() }
        let live = certificates.directory + "/live"
        #expect(mkdir(live, 0o755) == 0)
        #expect(runProcess(["/bin/cp", certificates.serverCertificate, live + "/node.pem"], log: "/dev/null") == 0)
        #expect(runProcess(["/bin/cp", certificates.serverKey, live + "/node.key"], log: "/dev/null") == 0)
        let server = try #require(ServerProcess.start(
            dataDir: temporaryDataDir("tlsreload"), extra: ["--tls-cert", live + "/node.pem", "--tls-key", live + "/node.key"]))
        defer { server.terminate() }
        let before = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate))
        #expect(try await before.createAccounts([Account(id: 1, ledger: 700, code: 10)]).map(\.status) == [.created])

        #expect(runProcess(["/bin/cp", certificates.otherServerCertificate, live + "/node.pem"], log: "/dev/null") == 0)
        #expect(runProcess(["/bin/cp", certificates.otherServerKey, live + "/node.key"], log: "/dev/null") == 0)
        #expect(reloadCertificates(server), "no reload logged after SIGHUP")
        let fresh = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.otherCACertificate))
        #expect(try await fresh.lookupAccounts([1]).count == 1)
        let stale = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate))
        await #expect(throws: KaminoClientError.self) { _ = try await stale.lookupAccounts([1]) }
        // The connection made before the reload keeps its certificate and keeps working.
        #expect(try await before.lookupAccounts([1]).count == 1)
        await before.close()
        await fresh.close()
        await stale.close()
        server.expectCleanExit()
    }

    @Test func mutualTLSRefusesAClientWithoutACertificate() async throws {
        defer { certificates.remove() }
        let server = try #require(ServerProcess.start(
            dataDir: temporaryDataDir("mtls"),
            extra: serverFlags + ["--tls-ca", certificates.caCertificate, "--tls-client-auth", "required"]))
        defer { server.terminate() }
        let anonymous = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate))
        await #expect(throws: KaminoClientError.self) { _ = try await anonymous.lookupAccounts([1]) }
        await anonymous.close()

        let holder = try client(server.port, tls: KaminoTLSOptions(
            caFile: certificates.caCertificate, certificateChain: certificates.clientCertificate,
            privateKey: certificates.clientKey))
        #expect(try await holder.createAccounts([Account(id: 1, ledger: 700, code: 10)]).map(\.status) == [.created])
        await holder.close()
        server.expectCleanExit()
    }

    /// `--tls-crl`: a client certificate the CA revoked is refused, others of the CA still
    /// connect, and SIGHUP re-reads the list (a certificate revoked later is refused from
    /// then on, on new connections).
    @Test func revokedClientCertificatesAreRefusedAndSighupReloadsTheCRL() async throws {
        defer { certificates.remove() }
        let live = certificates.directory + "/revocations.pem"
        let none = try #require(certificates.makeCRL(name: "none", revoking: []), "openssl ca failed")
        #expect(runProcess(["/bin/cp", none, live], log: "/dev/null") == 0)
        let server = try #require(ServerProcess.start(
            dataDir: temporaryDataDir("crl"),
            extra: serverFlags + ["--tls-ca", certificates.caCertificate, "--tls-client-auth", "required", "--tls-crl", live]))
        defer { server.terminate() }
        func holder(_ certificate: String, _ key: String) throws -> KaminoClient {
            try client(server.port, tls: KaminoTLSOptions(
                caFile: certificates.caCertificate, certificateChain: certificate, privateKey: key))
        }
        let first = try holder(certificates.clientCertificate, certificates.clientKey)
        #expect(try await first.createAccounts([Account(id: 1, ledger: 700, code: 10)]).map(\.status) == [.created])

        let revoked = try #require(certificates.makeCRL(name: "client", revoking: [certificates.clientCertificate]))
        #expect(runProcess(["/bin/cp", revoked, live], log: "/dev/null") == 0)
        #expect(reloadCertificates(server), "no reload logged after SIGHUP")
        let refusedClient = try holder(certificates.clientCertificate, certificates.clientKey)
        let refused = await #expect(throws: KaminoClientError.self) { _ = try await refusedClient.lookupAccounts([1]) }
        #expect(refused?.code == .connectionFailed, "\(String(describing: refused))")
        await refusedClient.close()
        // Another certificate of the same CA (the node certificate doubles as a client one).
        let other = try holder(certificates.serverCertificate, certificates.serverKey)
        #expect(try await other.lookupAccounts([1]).count == 1)
        await other.close()
        // The connection made before the reload keeps its session.
        #expect(try await first.lookupAccounts([1]).count == 1)
        await first.close()
        #expect(server.output.contains("event=tls_failed"), "\(server.output)")
        server.expectCleanExit()

        // A file that holds no CRL is refused at start, with the file named.
        let empty = certificates.directory + "/empty.pem"
        #expect(writeText("", to: empty))
        let badDir = temporaryDataDir("crlbad")
        let bad = ServerProcess.start(
            dataDir: badDir,
            extra: serverFlags + ["--tls-ca", certificates.caCertificate, "--tls-client-auth", "required", "--tls-crl", empty])
        #expect(bad == nil, "a server started with a CRL file that holds no CRL")
        bad?.terminate()
        let said = String(decoding: fileBytes(badDir + ".out"), as: UTF8.self)
        #expect(said.contains("CRL file \(empty)"), "\(said)")
    }

    /// A client with `crlFile` refuses a server whose certificate is revoked; without it,
    /// the same server is accepted (the CA still signs it).
    @Test func clientsWithACRLRefuseARevokedServerCertificate() async throws {
        defer { certificates.remove() }
        let revoked = try #require(certificates.makeCRL(name: "server", revoking: [certificates.serverCertificate]))
        let server = try #require(ServerProcess.start(dataDir: temporaryDataDir("crlserver"), extra: serverFlags))
        defer { server.terminate() }
        let checking = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate, crlFile: revoked))
        let refused = await #expect(throws: KaminoClientError.self) { _ = try await checking.lookupAccounts([1]) }
        #expect(refused?.message.contains("certificate revoked") == true, "\(String(describing: refused))")
        await checking.close()
        let trusting = try client(server.port, tls: KaminoTLSOptions(caFile: certificates.caCertificate))
        #expect(try await trusting.lookupAccounts([1]).isEmpty)
        await trusting.close()
        server.expectCleanExit()
    }

    @Test func metricsPortSpeaksTLSOnly() async throws {
        defer { certificates.remove() }
        let server = try #require(ServerProcess.start(dataDir: temporaryDataDir("tlsmetrics"), extra: serverFlags, metrics: true))
        defer { server.terminate() }
        let port = try #require(server.metricsPort)
        let answer = try #require(TLSProbe.exchange(
            port: port, caFile: certificates.caCertificate,
            request: Array("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)))
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK"))
        let plain = rawExchange(port: port, bytes: Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(plain.isEmpty, "the metrics port answered plaintext HTTP")
        server.expectCleanExit()
    }

    @Test func followerReplicatesOverMutualTLS() async throws {
        defer { certificates.remove() }
        let flags = serverFlags + ["--tls-ca", certificates.caCertificate]
        let primary = try #require(ServerProcess.start(
            dataDir: temporaryDataDir("tlsprimary"),
            extra: flags + ["--replication", "async", "--replication-listen", "127.0.0.1:0"]))
        defer { primary.terminate() }
        let replicationPort = try #require(primary.announcedPort("replication on "))
        let follower = try #require(ServerProcess.start(
            dataDir: temporaryDataDir("tlsfollower"),
            extra: flags + ["--primary", "127.0.0.1:\(replicationPort)", "--replication-listen", "127.0.0.1:0"],
            command: "follow"))
        defer { follower.terminate() }

        // A node without a certificate of the CA cannot follow: the primary refuses it.
        let outsider = rawExchange(port: replicationPort, bytes: Array(repeating: 0x42, count: 64))
        #expect(outsider.isEmpty)

        let tls = KaminoTLSOptions(caFile: certificates.caCertificate)
        let writer = try client(primary.port, tls: tls)
        let accounts = (1...2).map { Account(id: UInt128($0), ledger: 700, code: 10) }
        #expect(try await writer.createAccounts(accounts).map(\.status) == [.created, .created])
        for id in 1...20 {
            let transfer = Transfer(id: UInt128(100 + id), debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 700, code: 1)
            #expect(try await writer.createTransfers([transfer]).map(\.status) == [.created])
        }
        let lastLSN = writer.highestSeenLSN
        var caughtUp = false
        for _ in 0..<200 {
            let status = try await writer.status(at: ServerAddress(host: "127.0.0.1", port: Int(follower.port)))
            if status.contains("\"durable_lsn\":\(lastLSN)") || status.contains("\"last_lsn\":\(lastLSN)") {
                caughtUp = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(caughtUp, "the follower did not reach LSN \(lastLSN) over TLS")
        await writer.close()
        follower.expectCleanExit()
        primary.expectCleanExit()
        let primaryDigest = try #require(try replayDigest(primary.dataDir))
        #expect(try replayDigest(follower.dataDir) == primaryDigest)
    }
}

/// `kamino wal replay DIR`'s digest line.
func replayDigest(_ dataDir: String) throws -> String? {
    let kamino = try #require(builtExecutable("kamino"))
    let out = dataDir + ".replay"
    guard runProcess([kamino, "wal", "replay", dataDir], log: out) == 0 else { return nil }
    let text = String(decoding: fileBytes(out), as: UTF8.self)
    return text.split(separator: "\n").first { $0.hasPrefix("digest: ") }.map { String($0.dropFirst(8)) }
}
