import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// A replicated primary started as such (no etcd) prints `listening on` only once it takes
/// writes: its ledger opens read-only and becomes the primary after recording a new epoch,
/// and a write sent in between was answered `not_primary`. Under sync replication its first
/// write is answered through the quorum (here none: `replication_timeout`), never after
/// the local fsync alone. Several starts, each written to the moment it says it listens.
@Suite struct PrimaryReadyTests {
    @Test(arguments: ["async", "sync"])
    func writesAreTakenOnceItListens(mode: String) throws {
        for round in 0..<4 {
            let dir = temporaryDataDir("primary-ready")
            defer { removeDataDir(dir) }
            var extra = ["--replication", mode, "--replication-listen", "127.0.0.1:0"]
            if mode == "sync" { extra += ["--sync-quorum", "1", "--sync-timeout-ms", "300"] }
            let server = try #require(ServerProcess.start(dataDir: dir, extra: extra), "kamino serve did not start")
            defer { server.terminate() }
            let client = try #require(WireTestClient(port: server.port))
            let answer = client.call(.createAccounts(accounts(UInt128(round) * 10 + 1)))
            if mode == "sync" {
                // No follower: the quorum never confirms (17 = replication_timeout).
                guard case .errorReply(let e)? = answer else {
                    Issue.record("round \(round): expected replication_timeout, got \(String(describing: answer))")
                    continue
                }
                #expect(e.rawCode == 17, "round \(round): \(e)")
            } else {
                #expect(allCreated(answer), "round \(round): \(String(describing: answer))")
            }
        }
    }
}
