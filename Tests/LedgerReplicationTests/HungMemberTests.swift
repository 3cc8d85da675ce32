import Foundation
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

extension ClusterTests {
    /// Sync (quorum 1), two followers. The sync set's member stops (SIGSTOP: its TCP
    /// connection stays open, it acknowledges nothing) while the other follower holds
    /// every batch. The primary must not hold every answer on the stopped member for as
    /// long as the kernel keeps its connection (minutes): it disconnects a follower that
    /// acknowledges nothing it was sent for 5 s, the other follower replaces it, creates
    /// succeed again and each one is on that follower. Once resumed, the stopped follower
    /// reconnects and every digest ends equal.
    @Test(.timeLimit(.minutes(3)))
    func aStoppedSyncMemberIsReplaced() async throws {
        let dir = try ClusterDirectory("hung-member")
        var nodes: [ClusterNode] = []
        defer {
            for n in nodes { n.resume() }
            tearDown(nodes, dir)
        }
        let (primary, first, replicationAddress) = try startPrimaryWithFollower(
            in: dir, nodes: &nodes, replication: syncReplication)
        let setup = try #require(WireTestClient(port: primary.clientPort))
        let accounts = [Account(id: 1, ledger: 1, code: 1), Account(id: 2, ledger: 1, code: 1)]
        #expect(created(setup.call(.createAccounts(accounts))), "the accounts were not created")
        let second = try ClusterNode(
            name: "follower-2", role: .follower(of: replicationAddress), in: dir, replication: syncReplication)
        nodes.append(second)
        let fifty = Transfer(id: 50, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)
        #expect(created(setup.call(.createTransfers([fifty]))), "transfer 50 was not created")
        for f in [first, second] {
            let found = try await waitForTransfers([50], on: f.clientAddress)
            try #require(found != nil, "\(f.name) did not apply transfer 50")
        }
        let member = try #require(try await syncSet(of: primary).first, "no sync set member")
        let (stopped, healthy) = member == first.name ? (first, second) : (second, first)
        stopped.pause()

        // Each attempt is a fresh transfer; the first ones time out (2 s) on the stopped member.
        let probe = try #require(WireTestClient(port: primary.clientPort, timeoutSeconds: 10))
        let deadline = monotonicClockSeconds() + 30
        var acknowledged: UInt128?
        var id: UInt128 = 100
        while monotonicClockSeconds() < deadline, acknowledged == nil {
            id += 1
            let t = Transfer(id: id, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)
            if created(probe.call(.createTransfers([t]))) { acknowledged = id }
        }
        let ackedId = try #require(acknowledged, "no create was acknowledged in 30 s with a stopped sync member:\n\(tail(primary.log))")
        let after = try await syncSet(of: primary)
        #expect(after == [healthy.name], "the healthy follower did not replace the stopped one (\(member) stopped, sync set \(after), acked \(ackedId))")
        let onHealthy = try await waitForTransfers([ackedId], on: healthy.clientAddress, timeout: 5)
        #expect(onHealthy != nil, "an acknowledged transfer is not on the sync set's member")

        stopped.resume()
        let later = Transfer(id: 1 << 40, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)
        #expect(created(probe.call(.createTransfers([later]))), "a create failed after the stopped follower resumed")
        for f in [stopped, healthy] {
            let caughtUp = try await waitForTransfers([later.id], on: f.clientAddress)
            #expect(caughtUp != nil, "\(f.name) did not catch up:\n\(tail(f.log))")
        }
        expectSameDigests(try stopAndDigest(nodes))
    }
}

/// The primary's sync set (node ids), from its `status`.
private func syncSet(of primary: ClusterNode) async throws -> [String] {
    let json = try await primary.status()
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    return object?["sync_set"] as? [String] ?? []
}

/// True if `message` is a `create_*` reply whose every event was created.
private func created(_ message: Message?) -> Bool {
    switch message {
    case .reply(_, .createAccounts(let r), _): return r.allSatisfy { $0.status == .created }
    case .reply(_, .createTransfers(let r), _): return r.allSatisfy { $0.status == .created }
    default: return false
    }
}
