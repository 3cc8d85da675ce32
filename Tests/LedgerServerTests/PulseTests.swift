import KaminoTestSupport
import Glibc
import LedgerCore
import LedgerWire
import Testing

/// `kamino serve` with no traffic at all: a pending transfer with a timeout expires
/// through the server's own logged pulse, and the expiry survives a restart.
@Suite("kamino serve: pending transfers expire on an idle server", .serialized)
struct PulseTests {
    @Test(arguments: [[String](), ["--shards", "2"]])
    func pendingTransferExpiresWithoutTraffic(extra: [String]) throws {
        let dir = temporaryDataDir("pulse")
        defer { removeDataDir(dir) }
        var server = try #require(ServerProcess.start(dataDir: dir, extra: extra), "kamino serve did not start")
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))
        let pending = Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 25, timeout: 1, ledger: 1,
                               code: 1, flags: .pending)
        let created = monotonicSeconds()
        #expect(allCreated(client.call(.createTransfers([pending]))))

        // Only lookups from here on: reads never expire anything, a logged pulse does.
        // Account 1's debits pending and account 2's credits pending.
        func pendingAmounts(_ c: WireTestClient) -> [UInt128]? {
            guard case .reply(_, .lookupAccounts(let found), _) = c.call(.lookupAccounts([1, 2])), found.count == 2 else {
                return nil
            }
            return [found[0].debitsPending, found[1].creditsPending]
        }
        #expect(pendingAmounts(client) == [25, 25])
        var released = false
        while monotonicSeconds() < created + 3.5 {
            if pendingAmounts(client) == [0, 0] {
                released = true
                break
            }
            usleep(50_000)
        }
        #expect(released, "the pending amounts were not released within 3.5 s of the create")
        #expect(monotonicSeconds() - created >= 0.9, "released before the 1 s timeout")

        func digest(_ c: WireTestClient) -> String? {
            guard case .reply(_, .digest(let json), _) = c.call(.digest) else { return nil }
            return String(decoding: json, as: UTF8.self)
        }
        let before = try #require(digest(client))
        #expect(before.contains("\"lsn\":3"), "accounts, transfer, pulse: \(before)")
        server.expectCleanExit()

        server = try #require(ServerProcess.start(dataDir: dir, extra: extra), "the restart failed")
        let again = try #require(WireTestClient(port: server.port))
        #expect(digest(again) == before, "the pulse is in the log: replay gives the same state")
        #expect(pendingAmounts(again) == [0, 0])
        let post = Transfer(id: 11, debitAccountId: 1, creditAccountId: 2, amount: 25, pendingId: 10, ledger: 1,
                            code: 1, flags: .postPendingTransfer)
        guard case .reply(_, .createTransfers(let results), _) = again.call(.createTransfers([post])) else {
            Issue.record("no create_transfers reply")
            return
        }
        #expect(results.map(\.status) == [.pendingTransferExpired])
    }
}
