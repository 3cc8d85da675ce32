import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

extension ClusterTests {
    /// Two manual promotions that never saw each other pick the same epoch: `a` dies, `b`
    /// is promoted (epoch 2) and logs transfer 100, `b` dies, `c` (still pointed at `a`) is
    /// promoted, also to epoch 2, and logs transfer 200 at the same LSN. The two epoch
    /// histories are equal, so the histories alone say `b`'s log is a prefix of `c`'s.
    /// `b` restarted as `c`'s follower must refuse to stream (`diverged`) rather than add
    /// `c`'s records after its own: otherwise it applies a state no primary had, its digest
    /// differs, and in sync mode its ack of its own LSN 2 lets `c` acknowledge batches
    /// that its only sync member does not hold (a later failover to `b` loses them).
    @Test(.timeLimit(.minutes(3)))
    func twoManualPromotionsWithTheSameEpochAreCaughtAtTheJoin() async throws {
        let dir = try ClusterDirectory("epoch-collision")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let replication = ["--replication", "sync", "--sync-quorum", "1", "--sync-timeout-ms", "1000"]
        let a = try ClusterNode(name: "a", role: .primary, in: dir, replication: replication)
        nodes.append(a)
        let aReplication = try #require(a.replicationAddress)
        let b = try ClusterNode(name: "b", role: .follower(of: aReplication), in: dir, replication: replication)
        nodes.append(b)
        let c = try ClusterNode(name: "c", role: .follower(of: aReplication), in: dir, replication: replication)
        nodes.append(c)
        let accounts = [Account(id: 1, ledger: 1, code: 1), Account(id: 2, ledger: 1, code: 1)]
        let setup = try #require(WireTestClient(port: a.clientPort))
        #expect(created(setup.call(.createAccounts(accounts))), "the accounts were not created on a")
        let first = Transfer(id: 1, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)
        #expect(created(setup.call(.createTransfers([first]))), "transfer 1 was not created on a")
        for f in [b, c] {
            let found = try await waitForTransfers([1], on: f.clientAddress)
            try #require(found != nil, "\(f.name) did not apply transfer 1")
        }
        a.kill9()

        // b's term: one batch logged (no follower: its outcome is unknown), then b dies.
        try await b.promote()
        let onB = try #require(WireTestClient(port: b.clientPort))
        _ = onB.call(.createTransfers([Transfer(id: 100, debitAccountId: 1, creditAccountId: 2, amount: 5, ledger: 1, code: 1)]))
        b.kill9()
        // c's term, in the same epoch (c never heard of b's): one batch at the same LSN.
        try await c.promote()
        let cStatus = try await c.status()
        #expect(jsonNumber("epoch", in: cStatus) == 2, "c did not pick epoch 2: \(cStatus)")
        let onC = try #require(WireTestClient(port: c.clientPort))
        _ = onC.call(.createTransfers([Transfer(id: 200, debitAccountId: 2, creditAccountId: 1, amount: 7, ledger: 1, code: 1)]))

        try b.restart(as: .follower(of: try #require(c.replicationAddress)))
        #expect(b.waitForLog("diverged", timeout: 20), "b streamed from c over a different record:\n\(tail(b.log))")
        // c's only possible sync member holds another LSN 2: nothing may be acknowledged.
        let later = Transfer(id: 300, debitAccountId: 2, creditAccountId: 1, amount: 1, ledger: 1, code: 1)
        let answer = onC.call(.createTransfers([later]))
        #expect(!created(answer), "c acknowledged transfer 300 through b, which does not hold c's LSN 2")
    }
}

/// True if `message` is a `create_*` reply whose every event was created.
private func created(_ message: Message?) -> Bool {
    switch message {
    case .reply(_, .createAccounts(let r), _): return r.allSatisfy { $0.status == .created }
    case .reply(_, .createTransfers(let r), _): return r.allSatisfy { $0.status == .created }
    default: return false
    }
}
