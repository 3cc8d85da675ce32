import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// No traffic after a pending transfer with a 1 s timeout: the primary's pulse expires
    /// it, the follower applies the shipped pulse (it never pulses itself), and both nodes
    /// end with one digest.
    @Test(.timeLimit(.minutes(2)))
    func pulseExpiresOnTheFollowerToo() async throws {
        let dir = try ClusterDirectory("pulse")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let (primary, follower) = try await startPairWithPendingTransfer(in: dir, timeout: 1, nodes: &nodes)

        let released = try await waitUntilReleased(on: follower.clientAddress, within: 10)
        #expect(released, "the follower did not apply the primary's pulse within 10 s:\n\(tail(follower.log))")

        let probe = try client(primary.clientAddress)
        var live: [String: String] = [:]
        for n in nodes { live[n.name] = try await probe.digest(at: ServerAddress(n.clientAddress)) }
        await probe.close()
        #expect(Set(live.values).count == 1, "live digests differ: \(live)")
        #expect(live["primary"].flatMap { jsonNumber("lsn", in: $0) } == 3, "accounts, transfer, pulse: \(live)")
        expectSameDigests(try stopAndDigest(nodes))
    }

    /// A follower promoted after its primary died starts pulsing: the pending transfer it
    /// holds expires there without any write.
    @Test(.timeLimit(.minutes(2)))
    func promotedFollowerPulses() async throws {
        let dir = try ClusterDirectory("pulse-failover")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let (primary, follower) = try await startPairWithPendingTransfer(in: dir, timeout: 2, nodes: &nodes)
        try #require(try await waitForTransfers([10], on: follower.clientAddress, timeout: 10) != nil)
        // The primary dies before the deadline: only the promoted follower can pulse.
        primary.kill9()
        try await follower.promote()
        let released = try await waitUntilReleased(on: follower.clientAddress, within: 10)
        #expect(released, "the promoted follower did not pulse within 10 s:\n\(tail(follower.log))")
    }

    /// A primary and its async follower (appended to `nodes` as they start), two accounts
    /// and one pending transfer (id 10, amount 7) that times out after `timeout` seconds.
    private func startPairWithPendingTransfer(in dir: ClusterDirectory, timeout: UInt32, nodes: inout [ClusterNode])
        async throws -> (primary: ClusterNode, follower: ClusterNode)
    {
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir, replication: asyncReplication)
        nodes.append(primary)
        let replicationAddress = try #require(primary.replicationAddress)
        let follower = try ClusterNode(name: "follower", role: .follower(of: replicationAddress), in: dir,
                                       replication: asyncReplication)
        nodes.append(follower)
        let c = try client(primary.clientAddress)
        let accounts = [Account(id: 1, ledger: 1, code: 1), Account(id: 2, ledger: 1, code: 1)]
        #expect(try await c.createAccounts(accounts).allSatisfy { $0.status == .created })
        let pending = Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 7, timeout: timeout, ledger: 1,
                               code: 1, flags: .pending)
        #expect(try await c.createTransfers([pending]).map(\.status) == [.created])
        await c.close()
        return (primary, follower)
    }
}

/// Polls `address` (every 100 ms, up to `seconds`) until accounts 1 and 2 hold nothing
/// pending; true once they do.
private func waitUntilReleased(on address: String, within seconds: Double) async throws -> Bool {
    let c = try client(address)
    var released = false
    let deadline = monotonicClockSeconds() + seconds
    while !released, monotonicClockSeconds() < deadline {
        // The pending transfer must be there too: before it applied, the accounts show
        // nothing pending either (a follower's apply may trail its log). Looked up first:
        // the accounts read after it sees that state or a later one.
        let pending = (try? await c.lookupTransfers([10])) ?? []
        let found = (try? await c.lookupAccounts([1, 2])) ?? []
        released = pending.count == 1 && found.count == 2
            && found.allSatisfy { $0.debitsPending == 0 && $0.creditsPending == 0 }
        if !released { try? await Task.sleep(for: .milliseconds(100)) }
    }
    await c.close()
    return released
}
