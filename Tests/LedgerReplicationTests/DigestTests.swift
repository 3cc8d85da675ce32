import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// Async: a mixed load on the primary; the followers answer the same reads while live,
    /// and after a stop all three `wal replay` digests are equal.
    @Test(.timeLimit(.minutes(3)))
    func digestsMatchAfterMixedLoad() async throws {
        try await mixedLoadDigests(tag: "async", replication: asyncReplication)
    }

    /// The same in sync mode (quorum 1, two followers).
    @Test(.timeLimit(.minutes(3)))
    func digestsMatchAfterMixedLoadInSyncMode() async throws {
        try await mixedLoadDigests(tag: "sync", replication: syncReplication)
    }

    private func mixedLoadDigests(tag: String, replication: [String]) async throws {
        let dir = try ClusterDirectory(tag)
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir, replication: replication)
        nodes.append(primary)
        let replicationAddress = try #require(primary.replicationAddress)
        for i in 1...2 {
            nodes.append(try ClusterNode(name: "follower-\(i)", role: .follower(of: replicationAddress), in: dir,
                                         replication: replication))
        }
        let acks = AckLog()
        let c = try client(primary.clientAddress)
        try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
        var load = MixedLoad(client: c, acks: acks, node: primary.clientAddress, idBase: 1 << 40, seed: 7)
        for _ in 0..<60 { await load.round() }
        await c.close()
        #expect(load.errors.isEmpty, "client errors: \(load.errors.prefix(5))")
        let entries = acks.entries
        #expect(entries.count > 1_000, "only \(entries.count) transfers acknowledged")
        // Live reads: the last transfers of every kind, from each follower.
        let sample = entries.suffix(40).map(\.transfer.id) + entries.prefix(5).map(\.transfer.id)
        for f in nodes.dropFirst() { try await expectSameReads(sample, primary: primary, follower: f) }
        try await syncPoint(primary: primary, followers: Array(nodes.dropFirst()), acks: acks, id: 1 << 50)
        for f in nodes.dropFirst() {
            let fc = try client(f.clientAddress)
            let problems = await acks.checkEveryAckedTransferPresent(on: fc)
            await fc.close()
            #expect(problems.isEmpty, "\(f.name): \(problems.prefix(10))")
        }
        // The live state: after the sync point no batch is in flight, so every node is at the
        // primary's LSN with its digest.
        let probe = try client(primary.clientAddress)
        var live: [String: String] = [:]
        for n in nodes {
            let answer = try await probe.digest(at: ServerAddress(n.clientAddress))
            live[n.name] = answer
        }
        await probe.close()
        #expect(Set(live.values).count == 1, "live digests differ: \(live)")
        let offline = try stopAndDigest(nodes)
        expectSameDigests(offline)
        // The same digest live and from `kamino wal replay` of the stopped nodes.
        if let answer = live[primary.name], let hex = offline[primary.name] {
            #expect(answer.contains(hex), "live \(answer), replayed \(hex)")
        }
    }
}
