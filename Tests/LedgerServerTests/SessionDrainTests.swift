import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// The resident memory of process `pid` in KiB (VmRSS), or nil.
func residentKiB(_ pid: pid_t) -> Int? {
    let text = String(decoding: fileBytes("/proc/\(pid)/status"), as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
    return Int(line.split(separator: " ").dropFirst().first ?? "")
}

/// Replies of requests already accepted are written before a connection closes, and
/// replies a client does not read do not pile up in the server.
@Suite("kamino serve: draining and unread replies", .serialized)
struct SessionDrainTests {
    @Test("half-close right after a create: the create is answered, then EOF")
    func halfCloseAfterCreateIsAnswered() throws {
        try withServer("halfclose") { server in
            for round in 0..<20 {
                let client = try #require(WireTestClient(port: server.port))
                let id = client.send(.createAccounts(accounts(UInt128(100 + 2 * round))))
                client.shutdownWrite()
                let reply = client.receive()
                #expect(reply?.requestId == id, "round \(round): \(String(describing: reply))")
                #expect(allCreated(reply), "round \(round): \(String(describing: reply))")
                #expect(client.waitForClose(), "round \(round): the connection stays open")
            }
        }
    }

    @Test("a valid create then garbage in one write: both answered, then EOF")
    func createThenGarbageBothAnswered() throws {
        try withServer("creategarbage") { server in
            var rng = SystemRandomNumberGenerator()
            for round in 0..<20 {
                let client = try #require(WireTestClient(port: server.port))
                let id = client.takeId()
                let create = WireTestClient.frame(.createAccounts(accounts(UInt128(500 + 2 * round))), id: id)
                client.sendRaw(create + BadFrames.garbage(&rng, count: 200))
                var created = false
                var badMagic = false
                for _ in 0..<2 {
                    let message = client.receive()
                    if message?.requestId == id && allCreated(message) { created = true }
                    if errorCode(message) == .badMagic { badMagic = true }
                }
                #expect(created, "round \(round): the create executed but got no reply")
                #expect(badMagic, "round \(round): no bad_magic reply")
                #expect(client.waitForClose(), "round \(round): the connection stays open")
            }
        }
    }

    @Test("clients that never read big replies: server memory stays bounded, others served")
    func unreadRepliesAreBounded() throws {
        try withServer("unread") { server in
            let setup = try #require(WireTestClient(port: server.port))
            let many = (0..<UInt128(LedgerLimits.batchMax)).map { Account(id: 1_000 + $0, ledger: 1, code: 1) }
            #expect(allCreated(setup.call(.createAccounts(many))))
            let query = Request.queryAccounts(QueryFilter(ledger: 1, limit: UInt32(LedgerLimits.batchMax)))
            let before = residentKiB(server.pid) ?? 0
            var sinks: [WireTestClient] = []
            for _ in 0..<3 {
                let c = try #require(WireTestClient(port: server.port, timeoutSeconds: 2))
                sinks.append(c)
            }
            let start = monotonicSeconds()
            var peakKiB = before
            withExtendedLifetime(sinks) {
                // 256 big-reply queries per write, never reading; a send blocked for 2 s
                // (the server stopped reading) ends the flood of that connection.
                var flooding = Array(repeating: true, count: sinks.count)
                for _ in 0..<40 where flooding.contains(true) {
                    for (i, c) in sinks.enumerated() where flooding[i] {
                        var bytes: [UInt8] = []
                        for _ in 0..<256 { bytes += WireTestClient.frame(query, id: c.takeId()) }
                        flooding[i] = c.sendRaw(bytes)
                    }
                    peakKiB = max(peakKiB, residentKiB(server.pid) ?? 0)
                }
                while monotonicSeconds() - start < 6 {
                    peakKiB = max(peakKiB, residentKiB(server.pid) ?? 0)
                    usleep(100_000)
                }
            }
            print("unread replies: server RSS \(before / 1024) MiB before, peak \(peakKiB / 1024) MiB")
            #expect(peakKiB < 300 * 1024, "server RSS reached \(peakKiB / 1024) MiB")
            let other = try #require(WireTestClient(port: server.port))
            guard case .reply(_, .lookupAccounts(let found), _) = other.call(.lookupAccounts([1_000, 1_001])) else {
                Issue.record("another client got no answer")
                return
            }
            #expect(found.count == 2)
            withExtendedLifetime(sinks) {}
            sinks.removeAll()
        }
    }
}

@Suite("kamino serve: graceful shutdown answers what it accepted")
struct ShutdownDrainTests {
    @Test("SIGTERM with pipelined creates: every executed create was answered, then EOF, exit 0")
    func sigtermAnswersAcceptedRequests() throws {
        let dir = temporaryDataDir("drainstop")
        defer { removeDataDir(dir) }
        var transferOf: [UInt64: UInt128] = [:]
        var created: Set<UInt128> = []
        do {
            let server = try #require(ServerProcess.start(dataDir: dir))
            defer { server.terminate() }
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accounts(1)))))
            var bytes: [UInt8] = []
            for i in 0..<200 {
                let id = client.takeId()
                transferOf[id] = UInt128(7_000 + i)
                bytes += WireTestClient.frame(.createTransfers([transfer(UInt128(7_000 + i), from: 1, to: 2)]), id: id)
            }
            client.sendRaw(bytes)
            kill(server.pid, SIGTERM)
            var answered: Set<UInt64> = []
            // Requests the server had not read yet when it stopped get no reply (EOF).
            while let message = client.receive() {
                #expect(answered.insert(message.requestId).inserted, "request \(message.requestId) answered twice")
                if let code = errorCode(message) {
                    #expect(code == .busy || code == .shuttingDown, "unexpected \(code)")
                } else if allCreated(message), let t = transferOf[message.requestId] {
                    created.insert(t)
                }
            }
            print("graceful stop: \(answered.count) of 200 answered, \(created.count) created")
            server.expectCleanExit()
        }
        let again = try #require(ServerProcess.start(dataDir: dir), "the restart failed")
        defer { again.terminate() }
        let client = try #require(WireTestClient(port: again.port))
        guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(Array(transferOf.values)))
        else {
            Issue.record("no lookup reply after restart")
            return
        }
        #expect(Set(found.map(\.id)) == created, "executed creates and answered creates differ")
    }
}
