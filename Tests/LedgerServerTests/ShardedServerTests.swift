import KaminoTestSupport
import Foundation
import Glibc
import LedgerCore
import LedgerWire
import Testing

/// `kamino serve --shards 2`: the same answers as the serial server, through a restart
/// from a snapshot the sharded server took.
@Suite("kamino serve --shards", .serialized)
struct ShardedServerTests {
    @Test func shardedServerAnswersAndRestartKeepsTheState() throws {
        let dir = temporaryDataDir("sharded")
        defer { removeDataDir(dir) }
        let accountIds = (1...40).map { UInt128($0) }
        var acknowledged: [UInt128] = []
        var balances: [Account] = []
        do {
            let server = try #require(ServerProcess.start(dataDir: dir, extra: ["--shards", "2", "--snapshot-every", "4"]))
            defer { server.terminate() }
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accountIds.map { Account(id: $0, ledger: 1, code: 1) }))))
            // Batches large enough to run in parallel rounds, with cross-shard transfers,
            // a pending transfer and its post in the same batch, and a linked pair.
            for batch in 0..<10 {
                var events: [Transfer] = []
                for k in 0..<100 {
                    let id = UInt128(10_000 + batch * 100 + k)
                    let from = accountIds[(batch * 7 + k) % 40]
                    let to = accountIds[(batch * 7 + k * 3 + 1) % 40]
                    events.append(transfer(id, from: from, to: to == from ? accountIds[(k + 5) % 40] : to, amount: UInt128(1 + k)))
                }
                events[10].flags = .pending
                events[11] = Transfer(id: events[11].id, amount: .max, pendingId: events[10].id, flags: .postPendingTransfer)
                events[20].flags = .linked
                if allCreated(client.call(.createTransfers(events))) { acknowledged += events.map(\.id) }
            }
            #expect(acknowledged.count == 1000)
            guard case .reply(_, .lookupAccounts(let found), _) = client.call(.lookupAccounts(accountIds)) else {
                Issue.record("no lookup_accounts reply")
                return
            }
            balances = found
            #expect(found.reduce(UInt128(0)) { $0 + $1.debitsPosted } == found.reduce(UInt128(0)) { $0 + $1.creditsPosted })
            let filter = AccountFilter(accountId: accountIds[0], limit: 8189)
            guard case .reply(_, .getAccountTransfers(let history), _) = client.call(.getAccountTransfers(filter)) else {
                Issue.record("no get_account_transfers reply")
                return
            }
            #expect(!history.isEmpty)
            #expect(history.map(\.timestamp) == history.map(\.timestamp).sorted())
            server.expectCleanExit()
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        #expect(names.contains { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }, "no snapshot in \(names)")
        let again = try #require(ServerProcess.start(dataDir: dir, extra: ["--shards", "2"]), "the restart failed")
        defer { again.terminate() }
        let client = try #require(WireTestClient(port: again.port))
        guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(acknowledged)) else {
            Issue.record("no lookup reply after restart")
            return
        }
        #expect(found.map(\.id) == acknowledged)
        guard case .reply(_, .lookupAccounts(let after), _) = client.call(.lookupAccounts(accountIds)) else {
            Issue.record("no lookup_accounts reply after restart")
            return
        }
        #expect(after == balances)
        again.expectCleanExit()
    }

    @Test func expectedTransfersWithShardsOrOutOfRangeAreRefused() throws {
        let dir = temporaryDataDir("expected-transfers")
        defer { removeDataDir(dir) }
        // A valid value starts a server that serves (so the refusals below are about the value).
        do {
            let server = try #require(ServerProcess.start(dataDir: dir, extra: ["--expected-transfers", "100000"]))
            defer { server.terminate() }
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts([1, 2].map { Account(id: $0, ledger: 1, code: 1) }))))
            #expect(allCreated(client.call(.createTransfers([transfer(77, from: 1, to: 2, amount: 5)]))))
        }
        for extra in [["--shards", "2", "--expected-transfers", "1000"], ["--expected-transfers", "-5"],
                      ["--expected-transfers", "2147483648"]] {
            if let server = ServerProcess.start(dataDir: dir, extra: extra) {
                server.terminate()
                Issue.record("the server started with \(extra)")
            }
        }
    }
}
