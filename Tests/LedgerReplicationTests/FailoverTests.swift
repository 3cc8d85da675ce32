import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// Sync (quorum 1), two followers: kill -9 the primary under `KaminoClient` load,
    /// promote the follower holding the most log (`status`), point the other follower at
    /// it, and restart the old primary as its follower (its unacknowledged tail, if any,
    /// is cut). Every transfer acknowledged by either primary is on every node with the
    /// same fields, the money invariants hold, and the three digests are equal.
    @Test(.timeLimit(.minutes(4)))
    func manualPromoteAfterPrimaryKillLosesNoAcknowledgedTransfer() async throws {
        let dir = try ClusterDirectory("promote")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir, replication: syncReplication)
        nodes.append(primary)
        let firstReplication = try #require(primary.replicationAddress)
        let followers = try (1...2).map { i throws(ClusterError) in
            try ClusterNode(name: "follower-\(i)", role: .follower(of: firstReplication), in: dir,
                            replication: syncReplication)
        }
        nodes += followers
        let acks = AckLog()
        try await setUpBook(on: primary, acks: acks)

        let oldAddress = primary.clientAddress
        let load = Task { try await timedLoad(oldAddress, acks: acks, seconds: 3, seed: 41) }
        try await Task.sleep(for: .seconds(1.5))
        primary.kill9()
        let killedAt = wallClockSeconds()
        _ = try await load.value
        let ackedBeforeKill = acks.entries.count
        #expect(acks.entries.allSatisfy { $0.ackedAt <= killedAt }, "an acknowledgement arrived after the kill")

        var durable: [(ClusterNode, UInt64)] = []
        for f in followers {
            let status = try await f.status()
            durable.append((f, try #require(jsonNumber("durable_lsn", in: status), "status without durable_lsn: \(status)")))
        }
        let (newPrimary, _) = try #require(durable.max { $0.1 < $1.1 })
        let other = try #require(followers.first { $0 !== newPrimary })
        try await newPrimary.promote()
        let newReplication = try #require(newPrimary.replicationAddress)
        other.terminate()
        try other.restart(as: .follower(of: newReplication))
        try primary.restart(as: .follower(of: newReplication))

        let errors = try await timedLoad(newPrimary.clientAddress, acks: acks, seconds: 2, seed: 42)
        #expect(errors.isEmpty, "client errors on the new primary: \(errors.prefix(5))")
        #expect(acks.entries.count > ackedBeforeKill, "the new primary acknowledged nothing")
        try await syncPoint(primary: newPrimary, followers: [other, primary], acks: acks, id: 1 << 50)
        for node in [newPrimary, other, primary] {
            let c = try client(node.clientAddress)
            let problems = await acks.checkEveryAckedTransferPresent(on: c)
            await c.close()
            #expect(problems.isEmpty, "\(node.name): \(problems.prefix(10))")
        }
        progressLine("promote test: \(ackedBeforeKill) acknowledged before the kill; old primary cut its log: "
            + "\(primary.log.contains("log cut to rejoin"))")
        expectSameDigests(try stopAndDigest([newPrimary, other, primary]))
    }
}
