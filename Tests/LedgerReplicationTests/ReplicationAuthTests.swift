import Glibc
import KaminoAuth
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

/// HS256 tokens for a primary started with `--auth jwt` (docs/security.md, "Replication").
enum ReplicationAuth {
    static let secret = Array("replication-test-secret-0123456789abcdef".utf8)

    /// A token signed with `secret`, holding `rights`, valid for ten minutes.
    static func token(_ rights: [String], subject: String) throws -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let claims = TokenSigner.claims(subject: subject, rights: rights, now: Int64(ts.tv_sec), lifetime: 600)
        return try TokenSigner(secret: secret).sign(claimsJSON: claims)
    }

    /// Writes `bytes` to `path` (mode 600).
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0, "cannot write \(path)")
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        try #require(written == bytes.count, "short write \(path)")
    }
}

extension ClusterTests {
    /// A primary with `--auth jwt`: a follower presenting a token with `replicate`
    /// (`--token-file`) replicates and ends with the primary's digest; one with no token
    /// and one with a `read` token are refused `unauthorized` (audit line on the primary,
    /// error on the follower), replicate nothing, and the primary keeps serving.
    @Test(.timeLimit(.minutes(3)))
    func followersNeedAReplicateToken() async throws {
        let dir = try ClusterDirectory("repauth")
        var nodes: [ClusterNode] = []
        var refused: [ClusterNode] = []
        defer { tearDown(nodes + refused, dir) }
        let secretPath = dir.path + "/secret"
        try ReplicationAuth.writeFile(secretPath, ReplicationAuth.secret)
        let auth = ["--auth", "jwt", "--auth-hs256-secret-file", secretPath]
        // Metrics on (the last --metrics wins over the harness's `off`), to read the refusals' counter.
        let primary = try ClusterNode(name: "primary", role: .primary, in: dir, extra: auth + ["--metrics", "127.0.0.1:0"])
        nodes.append(primary)
        let replicationAddress = try #require(primary.replicationAddress)

        let replicatePath = dir.path + "/replicate.jwt"
        try ReplicationAuth.writeFile(replicatePath, Array(try ReplicationAuth.token(["replicate"], subject: "follower-1").utf8))
        let follower = try ClusterNode(name: "follower-1", role: .follower(of: replicationAddress), in: dir,
                                       extra: ["--token-file", replicatePath])
        nodes.append(follower)
        let anonymous = try ClusterNode(name: "anonymous", role: .follower(of: replicationAddress), in: dir)
        refused.append(anonymous)
        let reader = try ClusterNode(name: "reader", role: .follower(of: replicationAddress), in: dir,
                                     extra: ["--token", try ReplicationAuth.token(["read"], subject: "reporting")])
        refused.append(reader)

        var options = KaminoClientOptions(requestTimeout: .seconds(10))
        options.token = .fixed(try ReplicationAuth.token(["read", "write"], subject: "writer"))
        let c = try KaminoClient(addresses: [primary.clientAddress], options: options)
        let acks = AckLog()
        try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
        let streamed = try await waitForTransfers(ClusterBook.fundingTransfers.map(\.id), on: follower.clientAddress)
        try #require(streamed != nil, "the follower with a replicate token did not replicate:\n\(tail(follower.log))")

        // The refused followers said why, and the primary audited both.
        #expect(anonymous.waitForLog("refused this follower's token", timeout: 20), "\(tail(anonymous.log))")
        #expect(reader.waitForLog("refused this follower's token", timeout: 20), "\(tail(reader.log))")
        #expect(primary.waitForLog("replication_auth_failed: missing_token", timeout: 20), "\(tail(primary.log))")
        #expect(primary.waitForLog("replication_auth_failed: forbidden", timeout: 20), "\(tail(primary.log))")
        #expect(reader.log.contains("lacks the replicate right"), "\(tail(reader.log))")
        let metricsLine = primary.announcements.split(separator: "\n").first { $0.hasPrefix("metrics on ") }
        let metricsPort = try #require(metricsLine.flatMap { $0.split(separator: ":").last.flatMap { UInt16($0) } },
                                       "no metrics port in:\n\(primary.announcements)")
        let metrics = try #require(loopbackHTTPGet(port: metricsPort, path: "/metrics"))
        for reason in ["missing_token", "forbidden"] {
            let line = metrics.body.split(separator: "\n").first {
                $0.hasPrefix("kamino_replication_auth_failures_total{reason=\"\(reason)\"}")
            }
            #expect(line.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }.map { $0 >= 1 } == true,
                    "no \(reason) refusal counted: \(String(describing: line))")
        }
        // Nothing reached them: their client ports answer no funding transfer.
        for n in refused {
            let rc = try client(n.clientAddress, timeout: .seconds(5))
            #expect(try await rc.lookupTransfers(ClusterBook.fundingTransfers.map(\.id)).isEmpty, "\(n.name) replicated")
            await rc.close()
        }
        // The primary keeps serving (writes and its authorised follower) after the refusals.
        let more = Transfer(id: 424_242, debitAccountId: ClusterBook.bank, creditAccountId: ClusterBook.customer(2),
                            amount: 3, ledger: ClusterBook.ledger, code: 7)
        #expect(try await c.createTransfers([more]).map(\.status) == [.created])
        #expect(try await waitForTransfers([more.id], on: follower.clientAddress) != nil, "\(tail(follower.log))")
        await c.close()

        for n in refused { n.terminate() }
        expectSameDigests(try stopAndDigest(nodes))
    }
}
