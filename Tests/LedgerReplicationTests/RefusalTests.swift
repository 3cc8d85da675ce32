import KaminoTestSupport
import LedgerClient
import LedgerCore
import LedgerWire
import Testing

extension ClusterTests {
    /// A create sent to a follower is answered `not_primary` (16) and the body's first
    /// line is the primary's client address; nothing is created there. A KaminoClient
    /// given the follower's address follows the reply to the primary.
    @Test(.timeLimit(.minutes(2)))
    func writesToFollowerAreRefusedWithPrimaryAddress() async throws {
        let dir = try ClusterDirectory("refuse")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir)
        nodes.append(primary)
        let follower = try ClusterNode(name: "follower-1", role: .follower(of: try #require(primary.replicationAddress)),
                                       in: dir)
        nodes.append(follower)
        let acks = AckLog()
        let c = try client(primary.clientAddress)
        try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
        // The follower is streaming once it answers the funding transfers.
        let streamed = try await waitForTransfers(ClusterBook.fundingTransfers.map(\.id), on: follower.clientAddress)
        try #require(streamed != nil, "the follower did not apply the primary's log:\n\(tail(follower.log))")

        let probe = try #require(WireTestClient(port: follower.clientPort))
        let refusedAccount = Account(id: 77_777, ledger: ClusterBook.ledger, code: 1)
        let answer = probe.call(.createAccounts([refusedAccount]))
        guard case .errorReply(let e)? = answer else {
            Issue.record("expected an error reply, got \(String(describing: answer))")
            return
        }
        #expect(e.rawCode == 16, "error code \(e.rawCode): \(e.message)")
        let firstLine = e.message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
        #expect(firstLine == primary.clientAddress, "body: \(e.message)")
        let transfer = Transfer(id: 88_888, debitAccountId: ClusterBook.bank, creditAccountId: ClusterBook.customer(1),
                                amount: 1, ledger: ClusterBook.ledger, code: 1)
        guard case .errorReply(let t)? = probe.call(.createTransfers([transfer])) else {
            Issue.record("create_transfers on the follower was not refused")
            return
        }
        #expect(t.rawCode == 16)

        // KaminoClient, given only the follower, learns the primary from the refusal and
        // sends the create there (it was not executed on the follower): it lands once.
        let fc = try client(follower.clientAddress)
        let results = try await fc.createTransfers([transfer])
        #expect(results.map(\.status) == [.created])
        // Reads still work on the follower, and the refused account exists nowhere.
        #expect(try await fc.lookupAccounts([refusedAccount.id]).isEmpty)
        #expect(try await c.lookupAccounts([refusedAccount.id]).isEmpty)
        #expect(try await c.lookupTransfers([transfer.id]).map(\.id) == [transfer.id])
        await c.close()
    }

    /// Sync, quorum 1, no follower: a create is answered `replication_timeout` (17) after
    /// about the 2 s timeout (never silently acknowledged); once a follower joins,
    /// creates succeed, and both nodes end with the same digest.
    @Test(.timeLimit(.minutes(2)))
    func syncModeRefusesWithoutQuorum() async throws {
        let dir = try ClusterDirectory("quorum")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir, replication: syncReplication)
        nodes.append(primary)
        let probe = try #require(WireTestClient(port: primary.clientPort))
        let started = monotonicClockSeconds()
        let answer = probe.call(.createAccounts([Account(id: 1, ledger: 1, code: 1)]))
        let waited = monotonicClockSeconds() - started
        guard case .errorReply(let e)? = answer else {
            Issue.record("expected replication_timeout, got \(String(describing: answer))")
            return
        }
        #expect(e.rawCode == 17, "error code \(e.rawCode): \(e.message)")
        #expect(waited >= 1.8 && waited < 6, "answered after \(waited) s with a 2 s timeout")

        let follower = try ClusterNode(name: "follower-1", role: .follower(of: try #require(primary.replicationAddress)),
                                       in: dir, replication: syncReplication)
        nodes.append(follower)
        // The follower joins the sync set once connected: creates succeed from then on.
        let acks = AckLog()
        let deadline = monotonicClockSeconds() + 30
        var lastError = ""
        var joined = false
        while monotonicClockSeconds() < deadline, !joined {
            let c = try client(primary.clientAddress)
            do {
                try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
                joined = true
            } catch {
                lastError = "\(error)"
            }
            await c.close()
        }
        try #require(joined, "creates still fail with a follower: \(lastError)\n\(tail(primary.log))")
        let address = primary.clientAddress
        let errors = try await timedLoad(address, acks: acks, seconds: 2, seed: 21)
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        // Sync: every acknowledged transfer is already durable on the follower.
        let fc = try client(follower.clientAddress)
        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50)
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        expectSameDigests(try stopAndDigest(nodes))
    }
}
