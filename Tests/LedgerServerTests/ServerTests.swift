import KaminoTestSupport
import Glibc
import LedgerCore
import LedgerWire
import Testing

/// Starts a server for one test and always stops it by pid (also when the test fails).
func withServer(_ tag: String, _ body: (ServerProcess) throws -> Void) throws {
    let dir = temporaryDataDir(tag)
    defer { removeDataDir(dir) }
    let server = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
    defer { server.terminate() }
    try body(server)
}

/// Two accounts on ledger 1 with ids `base` and `base + 1`.
func accounts(_ base: UInt128) -> [Account] {
    [Account(id: base, ledger: 1, code: 1), Account(id: base + 1, ledger: 1, code: 1)]
}

func transfer(_ id: UInt128, from: UInt128, to: UInt128, amount: UInt128 = 1) -> Transfer {
    Transfer(id: id, debitAccountId: from, creditAccountId: to, amount: amount, ledger: 1, code: 1)
}

/// True if `message` is a `create_*` reply whose every event was created.
func allCreated(_ message: Message?) -> Bool {
    switch message {
    case .reply(_, .createAccounts(let r), _): return r.allSatisfy { $0.status == .created }
    case .reply(_, .createTransfers(let r), _): return r.allSatisfy { $0.status == .created }
    default: return false
    }
}

/// The error code of an error reply.
func errorCode(_ message: Message?) -> WireError.Code? {
    if case .errorReply(let e) = message { return e.code }
    return nil
}

@Suite("kamino serve over TCP", .serialized)
struct ServerTests {
    @Test func createAndLookUp() throws {
        try withServer("basic") { server in
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accounts(10)))))
            #expect(allCreated(client.call(.createTransfers([transfer(100, from: 10, to: 11, amount: 70)]))))
            guard case .reply(_, .lookupAccounts(let found), _) = client.call(.lookupAccounts([10, 11, 12])) else {
                Issue.record("no lookup_accounts reply")
                return
            }
            #expect(found.map(\.id) == [10, 11])
            #expect(found.first?.debitsPosted == 70)
            #expect(found.last?.creditsPosted == 70)
            guard case .reply(_, .lookupTransfers(let transfers), _) = client.call(.lookupTransfers([100])) else {
                Issue.record("no lookup_transfers reply")
                return
            }
            #expect(transfers.map(\.amount) == [70])
            // An already existing id is reported, not created twice.
            guard case .reply(_, .createTransfers(let again), _) =
                client.call(.createTransfers([transfer(100, from: 10, to: 11, amount: 70)])) else {
                Issue.record("no create_transfers reply")
                return
            }
            #expect(again.first?.status == .exists)
        }
    }

    @Test func pipelinedRequestsAreAllAnswered() throws {
        try withServer("pipeline") { server in
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accounts(1)))))
            var sent: Set<UInt64> = []
            for i in 0..<200 {
                let id: UInt64
                if i % 4 == 3 {
                    id = client.send(.lookupAccounts([1, 2]))
                } else {
                    id = client.send(.createTransfers([transfer(UInt128(1000 + i), from: 1, to: 2)]))
                }
                sent.insert(id)
            }
            var answered: Set<UInt64> = []
            for _ in 0..<200 {
                guard let reply = client.receive() else { break }
                if case .errorReply = reply { Issue.record("unexpected error reply \(reply)") }
                answered.insert(reply.requestId)
            }
            #expect(answered == sent)
            guard case .reply(_, .lookupAccounts(let found), _) = client.call(.lookupAccounts([1])) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(found.first?.debitsPosted == 150)
        }
    }

    @Test func sigtermExitsZeroAndRestartKeepsAcknowledgedTransfers() throws {
        let dir = temporaryDataDir("restart")
        defer { removeDataDir(dir) }
        var acknowledged: [UInt128] = []
        do {
            let server = try #require(ServerProcess.start(dataDir: dir))
            defer { server.terminate() }
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accounts(1)))))
            for batch in 0..<20 {
                let ids = (0..<25).map { UInt128(10_000 + batch * 25 + $0) }
                if allCreated(client.call(.createTransfers(ids.map { transfer($0, from: 1, to: 2) }))) {
                    acknowledged += ids
                }
            }
            #expect(acknowledged.count == 500)
            server.expectCleanExit()
            #expect(server.output.contains("stopped"))
        }
        let again = try #require(ServerProcess.start(dataDir: dir), "the restart failed")
        defer { again.terminate() }
        let client = try #require(WireTestClient(port: again.port))
        guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(acknowledged)) else {
            Issue.record("no lookup reply after restart")
            return
        }
        #expect(found.map(\.id) == acknowledged)
        again.expectCleanExit()
    }

    @Test func badFramesGetErrorRepliesAndOthersCarryOn() throws {
        try withServer("bad") { server in
            let good = try #require(WireTestClient(port: server.port))
            #expect(allCreated(good.call(.createAccounts(accounts(1)))))
            var rng = SystemRandomNumberGenerator()
            let closing: [(String, [UInt8], WireError.Code)] = [
                ("bad magic", BadFrames.badMagic(id: 7), .badMagic),
                ("bad header checksum", BadFrames.badHeaderChecksum(id: 7), .badHeaderChecksum),
                ("oversized", BadFrames.oversized(id: 7), .frameTooLarge),
                ("garbage", BadFrames.garbage(&rng, count: 300), .badMagic),
            ]
            for (index, (name, bytes, code)) in closing.enumerated() {
                let bad = try #require(WireTestClient(port: server.port))
                bad.sendRaw(bytes)
                let reply = bad.receive()
                #expect(errorCode(reply) == code, "\(name): \(String(describing: reply))")
                #expect(bad.waitForClose(), "\(name): the connection stays open")
                #expect(allCreated(good.call(.createTransfers([transfer(UInt128(500 + index), from: 1, to: 2)]))))
            }
            // A truncated frame followed by end of input.
            let truncated = try #require(WireTestClient(port: server.port))
            truncated.sendRaw(Array(BadFrames.valid(id: 9)[0..<30]))
            truncated.shutdownWrite()
            #expect(errorCode(truncated.receive()) == .truncatedFrame)
            // A bad body checksum keeps the connection framed and open.
            let recoverable = try #require(WireTestClient(port: server.port))
            recoverable.sendRaw(BadFrames.badBodyChecksum(id: 42, transferId: 9999) + BadFrames.valid(id: 43))
            let first = recoverable.receive()
            #expect(errorCode(first) == .badBodyChecksum)
            #expect(first?.requestId == 42)
            let second = recoverable.receive()
            #expect(second?.requestId == 43)
            if case .reply(_, .lookupAccounts(let found), _) = second { #expect(found.count == 2) } else {
                Issue.record("no reply after the recoverable error: \(String(describing: second))")
            }
            // Nothing rejected was executed.
            guard case .reply(_, .lookupTransfers(let none), _) = good.call(.lookupTransfers([9999])) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(none.isEmpty)
        }
    }

    @Test func tenThousandBadFramesWhileAGoodClientWorks() throws {
        try withServer("fuzz") { server in
            let good = try #require(WireTestClient(port: server.port))
            #expect(allCreated(good.call(.createAccounts(accounts(1)))))
            let bad = try #require(WireTestClient(port: server.port))
            var rng = SystemRandomNumberGenerator()
            var badFrames = 0
            var goodTransfers = 0
            for round in 0..<10 {
                var bytes: [UInt8] = []
                for i in 0..<950 {
                    let id = UInt64(round * 1000 + i + 1)
                    bytes += BadFrames.badBodyChecksum(id: id, transferId: UInt128(1_000_000) + UInt128(id))
                }
                bad.sendRaw(bytes)
                for _ in 0..<950 {
                    guard errorCode(bad.receive()) == .badBodyChecksum else {
                        Issue.record("round \(round): missing error reply")
                        return
                    }
                    badFrames += 1
                }
                // Connections that lose framing: 5 per round.
                for _ in 0..<5 {
                    let garbage = try #require(WireTestClient(port: server.port))
                    garbage.sendRaw(BadFrames.garbage(&rng, count: Int.random(in: 48...2000)))
                    #expect(errorCode(garbage.receive()) != nil)
                    #expect(garbage.waitForClose())
                    badFrames += 1
                }
                if allCreated(good.call(.createTransfers([transfer(UInt128(50 + round), from: 1, to: 2, amount: 3)]))) {
                    goodTransfers += 1
                }
            }
            #expect(badFrames >= 9_550)
            // Top up past 10,000 with mixed closing frames.
            for i in 0..<500 {
                let c = try #require(WireTestClient(port: server.port))
                c.sendRaw(i % 2 == 0 ? BadFrames.badMagic(id: 1) : BadFrames.oversized(id: 1))
                #expect(errorCode(c.receive()) != nil)
                badFrames += 1
            }
            #expect(badFrames >= 10_000)
            #expect(goodTransfers == 10)
            guard case .reply(_, .lookupAccounts(let found), _) = good.call(.lookupAccounts([1])) else {
                Issue.record("the good client got no answer")
                return
            }
            #expect(found.first?.debitsPosted == 30)
            guard case .reply(_, .lookupTransfers(let none), _) =
                good.call(.lookupTransfers((1...20).map { UInt128(1_000_000 + $0) })) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(none.isEmpty)
        }
    }

    @Test func thousandConcurrentConnections() throws {
        let limit = raiseOpenFileLimit(to: 4096)
        try #require(limit >= 2200, "RLIMIT_NOFILE is only \(limit)")
        try withServer("conns") { server in
            let setup = try #require(WireTestClient(port: server.port))
            #expect(allCreated(setup.call(.createAccounts(accounts(1)))))
            var clients: [WireTestClient] = []
            for _ in 0..<1000 {
                clients.append(try #require(WireTestClient(port: server.port)))
            }
            // Every connection has a request in flight before any reply is read.
            var ids: [UInt64] = []
            for (i, c) in clients.enumerated() {
                ids.append(
                    i % 2 == 0
                        ? c.send(.createTransfers([transfer(UInt128(100_000 + i), from: 1, to: 2)]))
                        : c.send(.lookupAccounts([1, 2])))
            }
            var ok = 0
            for (c, id) in zip(clients, ids) {
                if let reply = c.receive(), reply.requestId == id, errorCode(reply) == nil { ok += 1 }
            }
            #expect(ok == 1000)
            guard case .reply(_, .lookupAccounts(let found), _) = setup.call(.lookupAccounts([1])) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(found.first?.debitsPosted == 500)
        }
    }
}
