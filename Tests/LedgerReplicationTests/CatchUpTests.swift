import Glibc
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// Async, one follower: kill -9 the follower while writes go on, restart it on its
    /// directory: it catches up (every acknowledged transfer readable there, equal digests).
    @Test(.timeLimit(.minutes(3)))
    func followerRestartCatchesUp() async throws {
        let dir = try ClusterDirectory("restart")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let (primary, follower, replicationAddress) = try startPrimaryWithFollower(in: dir, nodes: &nodes)
        let acks = AckLog()
        try await setUpBook(on: primary, acks: acks)

        let address = primary.clientAddress
        let load = Task { try await timedLoad(address, acks: acks, seconds: 5, seed: 11) }
        try await Task.sleep(for: .seconds(1.5))
        follower.kill9()
        try await Task.sleep(for: .seconds(1))
        try follower.restart(as: .follower(of: replicationAddress))
        let errors = try await load.value
        #expect(errors.isEmpty, "client errors on the primary: \(errors.prefix(5))")

        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50)
        let fc = try client(follower.clientAddress)
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        expectSameDigests(try stopAndDigest(nodes))
    }

    /// Async: stop a follower, delete its directory while writes go on, restart it: it
    /// catches up from the primary's log.
    @Test(.timeLimit(.minutes(3)))
    func wipedFollowerCatchesUpFromLog() async throws {
        let dir = try ClusterDirectory("wipe-log")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let (primary, follower, replicationAddress) = try startPrimaryWithFollower(in: dir, nodes: &nodes)
        let acks = AckLog()
        try await setUpBook(on: primary, acks: acks)

        let address = primary.clientAddress
        let load = Task { try await timedLoad(address, acks: acks, seconds: 5, seed: 12) }
        try await Task.sleep(for: .seconds(1.5))
        follower.terminate()
        follower.wipe()
        try await Task.sleep(for: .seconds(0.5))
        try follower.restart(as: .follower(of: replicationAddress))
        let errors = try await load.value
        #expect(errors.isEmpty, "client errors on the primary: \(errors.prefix(5))")

        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50)
        let fc = try client(follower.clientAddress)
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        #expect(!follower.log.contains("snapshot installed"), "the log was still there: no snapshot was needed")
        expectSameDigests(try stopAndDigest(nodes))
    }

    /// Async, primary with `--snapshot-every 50`: enough log (about 70 MB in batches of 8189)
    /// that the primary's first segment is removed behind its snapshots while the follower
    /// is down; the wiped follower then catches up from a snapshot (its log says
    /// `snapshot installed`) and the log after it. The primary runs with `--auth jwt`, so
    /// the snapshot download's `hello` must carry the follower's `replicate` token too.
    @Test(.timeLimit(.minutes(6)))
    func wipedFollowerCatchesUpFromSnapshot() async throws {
        let dir = try ClusterDirectory("wipe-snap")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let secretPath = dir.path + "/secret"
        try ReplicationAuth.writeFile(secretPath, ReplicationAuth.secret)
        let (primary, follower, replicationAddress) = try startPrimaryWithFollower(
            in: dir, nodes: &nodes,
            primaryExtra: ["--snapshot-every", "50", "--auth", "jwt", "--auth-hs256-secret-file", secretPath],
            followerExtra: ["--token", try ReplicationAuth.token(["replicate"], subject: "follower-1")])
        let acks = AckLog()
        let writer = KaminoToken.fixed(try ReplicationAuth.token(["read", "write"], subject: "writer"))
        let c = try client(primary.clientAddress, timeout: .seconds(30), token: writer)
        try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
        var load = MixedLoad(client: c, acks: acks, node: primary.clientAddress, idBase: 1 << 40, seed: 13)
        for _ in 0..<5 { await load.round() }
        follower.terminate()
        follower.wipe()

        // 64 MiB segments: about 70 records of 8189 transfers fill the first one; then
        // small rounds until three snapshots (LSN 50, 100, 150) let the first segment go.
        var nextId: UInt128 = 1 << 44
        for _ in 0..<72 {
            let batch = (0..<8189).map { i -> Transfer in
                nextId += 1
                let a = i % ClusterBook.customers
                return Transfer(id: nextId, debitAccountId: ClusterBook.customer(a),
                                creditAccountId: ClusterBook.customer((a + 1) % ClusterBook.customers), amount: 1,
                                ledger: ClusterBook.ledger, code: 9)
            }
            acks.recordTransfers(batch, results: try await c.createTransfers(batch), node: primary.clientAddress)
        }
        let firstSegment = dir.path + "/primary/log-00000000000000000001.wal"
        let deadline = monotonicClockSeconds() + 120
        while access(firstSegment, F_OK) == 0, monotonicClockSeconds() < deadline {
            await load.round()
        }
        try #require(access(firstSegment, F_OK) != 0, "the primary still holds its first segment:\n\(tail(primary.log))")
        #expect(load.errors.isEmpty, "client errors: \(load.errors.prefix(5))")

        try follower.restart(as: .follower(of: replicationAddress), timeout: 120)
        for _ in 0..<5 { await load.round() }
        await c.close()
        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50, token: writer)
        #expect(follower.log.contains("snapshot installed"), "no snapshot installed:\n\(tail(follower.log))")
        let fc = try client(follower.clientAddress, timeout: .seconds(30))
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        expectSameDigests(try stopAndDigest(nodes))
    }
}

/// Runs `MixedLoad` rounds on the primary for `seconds`; returns the client errors.
func timedLoad(_ address: String, acks: AckLog, seconds: Double, seed: UInt64) async throws -> [String] {
    let c = try client(address)
    var load = MixedLoad(client: c, acks: acks, node: address, idBase: UInt128(seed) << 40, seed: seed)
    let deadline = monotonicClockSeconds() + seconds
    while monotonicClockSeconds() < deadline { await load.round() }
    await c.close()
    return load.errors
}
