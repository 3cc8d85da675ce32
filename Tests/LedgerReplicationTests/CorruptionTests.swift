import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// A forwarder between follower and primary flips one byte in the body of one
    /// `records` frame: the follower refuses the frame (checksum), drops the connection,
    /// reconnects, and ends with the primary's digest, so the damaged record was never
    /// applied.
    @Test(.timeLimit(.minutes(3)))
    func corruptByteOnTheWireIsNeverApplied() async throws {
        try await corruptedRecordIsNeverApplied(fixFrameChecksums: false)
    }

    /// The same, with the frame's checksums recomputed after the flip: only the record's
    /// own checksum (verified by the follower for every record) can catch it.
    @Test(.timeLimit(.minutes(3)))
    func corruptRecordWithValidFrameChecksumIsNeverApplied() async throws {
        try await corruptedRecordIsNeverApplied(fixFrameChecksums: true)
    }

    private func corruptedRecordIsNeverApplied(fixFrameChecksums: Bool) async throws {
        let dir = try ClusterDirectory("corrupt")
        var nodes: [ClusterNode] = []
        var proxy: TCPFaultProxy?
        defer {
            proxy?.stop()
            tearDown(nodes, dir)
        }
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir)
        nodes.append(primary)
        let corruption = RecordsFrameCorruption(afterRecordsFrames: 20, fixFrameChecksums: fixFrameChecksums)
        let forwarder = try TCPFaultProxy(upstreamPort: try #require(primary.replicationPort),
                                          tamper: { corruption.tamper() })
        proxy = forwarder
        let follower = try ClusterNode(name: "follower-1", role: .follower(of: forwarder.address), in: dir,
                                       extra: ["--log-level", "debug"])
        nodes.append(follower)
        let acks = AckLog()
        try await setUpBook(on: primary, acks: acks)
        let errors = try await timedLoad(primary.clientAddress, acks: acks, seconds: 4, seed: 31)
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        try #require(corruption.happened, "the stream carried fewer than 21 records frames")

        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 50)
        #expect(forwarder.acceptedConnections >= 2, "the follower did not reconnect after the damaged frame")
        let reported = follower.log.split(separator: "\n").first { $0.contains("checksum") }
        #expect(reported != nil, "the follower did not report a checksum failure:\n\(tail(follower.log))")
        progressLine("corruption: the follower logged: \(reported ?? "")")
        let fc = try client(follower.clientAddress)
        let problems = await acks.checkEveryAckedTransferPresent(on: fc)
        await fc.close()
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        expectSameDigests(try stopAndDigest(nodes))
    }
}
