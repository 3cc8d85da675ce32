import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// Sync (quorum 1), the only follower behind a `TCPFaultProxy`: while the proxy
    /// blackholes the link, a create is answered `replication_timeout` (never
    /// acknowledged); once healed, creates succeed again, and the digests end equal.
    @Test(.timeLimit(.minutes(3)))
    func syncPrimaryStopsAcknowledgingWhileItsFollowerIsBlackholed() async throws {
        let dir = try ClusterDirectory("blackhole")
        var nodes: [ClusterNode] = []
        var proxy: TCPFaultProxy?
        defer {
            proxy?.stop()
            tearDown(nodes, dir)
        }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir, replication: syncReplication)
        nodes.append(primary)
        let link = try TCPFaultProxy(upstreamPort: try #require(primary.replicationPort))
        proxy = link
        let follower = try ClusterNode(name: "follower-1", role: .follower(of: link.address), in: dir,
                                       replication: syncReplication)
        nodes.append(follower)
        let acks = AckLog()
        let c = try client(primary.clientAddress)
        try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
        await c.close()

        link.blackhole()
        let probe = try #require(WireTestClient(port: primary.clientPort))
        let started = monotonicClockSeconds()
        let answer = probe.call(.createAccounts([Account(id: 5_555, ledger: ClusterBook.ledger, code: 1)]))
        let waited = monotonicClockSeconds() - started
        guard case .errorReply(let e)? = answer else {
            Issue.record("a create was answered without the follower: \(String(describing: answer))")
            return
        }
        #expect(e.rawCode == 17, "error code \(e.rawCode): \(e.message)")
        #expect(waited >= 1.8 && waited < 8, "answered after \(waited) s with a 2 s timeout")

        link.heal()
        let deadline = monotonicClockSeconds() + 30
        var recovered = false
        while monotonicClockSeconds() < deadline, !recovered {
            let errors = try await timedLoad(primary.clientAddress, acks: acks, seconds: 0.5, seed: 51)
            recovered = errors.isEmpty
        }
        #expect(recovered, "creates still fail after the partition healed:\n\(tail(primary.log))")
        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50)
        let fc = try client(follower.clientAddress)
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        expectSameDigests(try stopAndDigest(nodes))
    }

    /// Async: the proxy resets the follower's connection several times under load; the
    /// follower reconnects each time and ends with the primary's digest.
    @Test(.timeLimit(.minutes(3)))
    func followerReconnectsAfterConnectionResets() async throws {
        let dir = try ClusterDirectory("reset")
        var nodes: [ClusterNode] = []
        var proxy: TCPFaultProxy?
        defer {
            proxy?.stop()
            tearDown(nodes, dir)
        }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir)
        nodes.append(primary)
        let link = try TCPFaultProxy(upstreamPort: try #require(primary.replicationPort))
        proxy = link
        let follower = try ClusterNode(name: "follower-1", role: .follower(of: link.address), in: dir)
        nodes.append(follower)
        let acks = AckLog()
        try await setUpBook(on: primary, acks: acks)
        let address = primary.clientAddress
        let load = Task { try await timedLoad(address, acks: acks, seconds: 4, seed: 61) }
        for _ in 0..<3 {
            try await Task.sleep(for: .seconds(1))
            link.reset()
        }
        let errors = try await load.value
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50)
        #expect(link.acceptedConnections >= 4, "\(link.acceptedConnections) connections through the proxy")
        let fc = try client(follower.clientAddress)
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        expectSameDigests(try stopAndDigest(nodes))
    }
}
