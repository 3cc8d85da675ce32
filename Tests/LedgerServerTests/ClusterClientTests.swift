import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

/// `LedgerClient` against a real primary and follower (`kamino serve --replication` and
/// `kamino follow`): writes sent to the follower land on the primary, reads on the
/// follower never miss the client's own writes with a staleness bound of 0.
@Suite("LedgerClient on a real primary and follower", .timeLimit(.minutes(2)))
struct ClusterClientTests {
    @Test("not_primary from a real follower redirects writes; bounded follower reads see own writes")
    func writesFollowThePrimaryAndReadsStayFresh() async throws {
        let primaryDir = temporaryDataDir("cluster-primary")
        let followerDir = temporaryDataDir("cluster-follower")
        defer {
            removeDataDir(primaryDir)
            removeDataDir(followerDir)
        }
        let primary = try #require(
            ServerProcess.start(
                dataDir: primaryDir, extra: ["--replication", "async", "--replication-listen", "127.0.0.1:0"]))
        defer { primary.terminate() }
        let replicationPort = try #require(primary.announcedPort("replication on "))
        let follower = try #require(
            ServerProcess.start(
                dataDir: followerDir,
                extra: ["--primary", "127.0.0.1:\(replicationPort)", "--replication-listen", "127.0.0.1:0"],
                command: "follow"))
        defer { follower.terminate() }
        let primaryAddress = "127.0.0.1:\(primary.port)"
        let followerAddress = "127.0.0.1:\(follower.port)"

        // A client that knows only the follower: its writes are redirected to the primary.
        let writer = try KaminoClient(addresses: [followerAddress])
        let accounts = (1...2).map { Account(id: UInt128($0), ledger: 700, code: 10) }
        #expect(try await writer.createAccounts(accounts).map(\.status) == [.created, .created])
        #expect(writer.highestSeenLSN == 1)
        let primaryStatus = try await writer.status(at: ServerAddress(primaryAddress))
        #expect(primaryStatus.contains(#""role":"primary""#) && primaryStatus.contains(#""last_lsn":1"#), "\(primaryStatus)")
        let followerStatus = try await writer.status(at: ServerAddress(followerAddress))
        #expect(followerStatus.contains(#""role":"follower""#), "\(followerStatus)")
        await writer.close()

        // Reads on the follower with bound 0: every read sees the transfer just written
        // (a follower answer that lags is resent to the primary).
        let options = KaminoClientOptions(readPreference: .followers(maxLagLSN: 0))
        let client = try KaminoClient(addresses: [primaryAddress, followerAddress], options: options)
        for id in 1...20 {
            let transfer = Transfer(
                id: UInt128(100 + id), debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 700, code: 1)
            #expect(try await client.createTransfers([transfer]).map(\.status) == [.created])
            let found = try await client.lookupTransfers([UInt128(100 + id)])
            #expect(found.count == 1, "transfer \(100 + id) not seen right after it was acknowledged")
            #expect(client.highestSeenLSN == UInt64(1 + id))
        }
        let balances = try await client.lookupAccounts([2])
        #expect(balances.first?.creditsPosted == 20)
        await client.close()
    }
}
