import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// `--prepare-segments on|off`: with `on` (the default) the next log segment is written
/// ahead as `log-prepared.tmp` once the open one holds 1 MiB; with `off` no such file is
/// ever written (the log is written once). Any other value is refused at start.
@Suite struct PrepareSegmentsSettingTests {
    /// Starts a server with `extra`, logs about 2 MiB of transfers, and reports whether a
    /// prepared segment appeared in the data dir within `wait` seconds.
    private func preparedFileAppears(_ extra: [String], wait: Double) throws -> Bool {
        let dir = temporaryDataDir("prepare-segments")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir, extra: extra), "kamino serve did not start with \(extra)")
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts([1, 2].map { Account(id: $0, ledger: 1, code: 1) }))))
        for batch in 0..<2 {
            let base = UInt128(batch) * 8_000 + 100
            let transfers = (0..<8_000).map { transfer(base + UInt128($0), from: 1, to: 2, amount: 1) }
            #expect(allCreated(client.call(.createTransfers(transfers))))
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
        while ContinuousClock.now < deadline {
            if access(dir + "/log-prepared.tmp", F_OK) == 0 { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func onPreparesAndOffNever() throws {
        #expect(try preparedFileAppears([], wait: 10), "the default prepares the next segment")
        #expect(try !preparedFileAppears(["--prepare-segments", "off"], wait: 1.5), "off wrote a prepared segment")
    }

    @Test func otherValuesAreRefused() {
        let dir = temporaryDataDir("prepare-segments-bad")
        defer { removeDataDir(dir) }
        for value in ["yes", "", "ON"] {
            if let server = ServerProcess.start(dataDir: dir, extra: ["--prepare-segments", value]) {
                server.terminate()
                Issue.record("the server started with --prepare-segments \(value)")
            }
        }
    }
}
