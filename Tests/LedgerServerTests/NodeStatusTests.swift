import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// The client-facing side of replication on a standalone `kamino serve`: every reply's
/// `state_lsn`, the `status` and `promote` operations, and `kamino status` / `promote`.
@Suite("state_lsn, status and promote on a real server", .timeLimit(.minutes(2)))
struct NodeStatusTests {
    func kamino(_ arguments: [String], log: String) -> (status: Int32?, output: String) {
        guard let kamino = builtExecutable("kamino") else { return (nil, "") }
        let status = runProcess([kamino] + arguments, log: log)
        return (status, String(decoding: fileBytes(log), as: UTF8.self))
    }

    @Test("a reply's state_lsn counts the batches written; kamino status reports the same LSNs")
    func stateLSNAndStatus() throws {
        let dir = temporaryDataDir("nodestatus")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir))
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))

        let batches: [Request] = [
            .createAccounts([Account(id: 1, ledger: 700, code: 10), Account(id: 2, ledger: 700, code: 10)]),
            .createTransfers([Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 5, ledger: 700, code: 1)]),
            .createTransfers([Transfer(id: 11, debitAccountId: 1, creditAccountId: 2, amount: 6, ledger: 700, code: 1)]),
        ]
        for (n, batch) in batches.enumerated() {
            guard case .reply(_, _, let lsn) = client.call(batch) else {
                Issue.record("batch \(n) was not answered")
                return
            }
            #expect(lsn == UInt64(n + 1))
        }
        guard case .reply(_, .lookupAccounts(let found), let readLSN) = client.call(.lookupAccounts([1, 2])) else {
            Issue.record("the lookup was not answered")
            return
        }
        #expect(found.count == 2 && readLSN == 3)
        guard case .reply(_, .status(let json), _) = client.call(.status) else {
            Issue.record("status was not answered")
            return
        }
        let expected = #"{"role":"standalone","epoch":0,"last_lsn":3,"durable_lsn":3,"commit_lsn":3,"primary":null,"followers":[]}"#
        #expect(String(decoding: json, as: UTF8.self) == expected)

        let address = "127.0.0.1:\(server.port)"
        let raw = kamino(["status", "--address", address, "--json"], log: dir + ".status-json")
        #expect(raw.status == 0 && raw.output == expected + "\n", "\(raw.output)")
        let table = kamino(["status", "--address", address], log: dir + ".status")
        #expect(table.status == 0)
        #expect(table.output.contains("role        standalone\n") && table.output.contains("last_lsn    3\n"), "\(table.output)")
        #expect(table.output.hasSuffix("followers   none\n"), "\(table.output)")
    }

    @Test("promote is refused with not_follower on a standalone node; an unreachable node is named")
    func promoteAndUnreachable() throws {
        let dir = temporaryDataDir("nodepromote")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir))
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        guard case .errorReply(let e) = client.call(.promote) else {
            Issue.record("promote was not refused")
            return
        }
        #expect(e.code == .notFollower && e.operation == 201)

        let refused = kamino(["promote", "--address", "127.0.0.1:\(server.port)"], log: dir + ".promote")
        #expect(refused.status == 1 && refused.output.contains("not_follower"), "\(refused.output)")
        server.terminate()
        let gone = kamino(["status", "--address", "127.0.0.1:\(server.port)"], log: dir + ".gone")
        #expect(gone.status == 1 && gone.output.contains("cannot reach 127.0.0.1:\(server.port)"), "\(gone.output)")
    }
}
