import Foundation
import Glibc
import KaminoTestSupport
import LedgerStorage
import LedgerWire
import Testing

/// The JSON objects among a server's output lines.
private func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("{"), let data = line.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}

@Suite("Recovery is logged", .serialized)
struct RecoveryLogTests {
    @Test func tornTailAndRecoveryAreLoggedAsJSON() throws {
        let dir = temporaryDataDir("recovery-log")
        defer { removeDataDir(dir) }
        let first = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        let client = try #require(WireTestClient(port: first.port))
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))
        #expect(allCreated(client.call(.createTransfers([transfer(10, from: 1, to: 2, amount: 5)]))))
        #expect(first.killHard())

        // A torn write after the last valid record: garbage where the valid records end
        // (`wal inspect` says where: "used N of M bytes").
        let segment = dir + "/log-00000000000000000001.wal"
        let kamino = try #require(builtExecutable("kamino"))
        let inspectLog = dir + ".inspect.out"
        #expect(runProcess([kamino, "wal", "inspect", dir], log: inspectLog) == 0)
        let inspect = String(decoding: fileBytes(inspectLog), as: UTF8.self)
        let used = try #require(inspect.split(separator: " ").split(separator: "used").dropFirst().first?.first,
                                "no `used N` in \(inspect)")
        let tornAt = try #require(Int(used))
        let fd = open(segment, O_WRONLY)
        try #require(fd >= 0)
        let garbage = [UInt8](repeating: 0xAB, count: 100)
        _ = garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(tornAt)) }
        fsync(fd)
        close(fd)

        // `wal verify` says what a start would cut, and does not pass (exit 1: a crash's trace).
        let verifyLog = dir + ".verify.out"
        #expect(runProcess([kamino, "wal", "verify", dir], log: verifyLog) == 1)
        let verify = String(decoding: fileBytes(verifyLog), as: UTF8.self)
        #expect(verify.contains("CUT: a start cuts the log at log-00000000000000000001.wal offset \(tornAt)"), "\(verify)")
        #expect(verify.contains("LSN 3 on is dropped"), "\(verify)")
        #expect(verify.contains("a start rebuilds LSN 2"), "\(verify)")

        let second = try #require(ServerProcess.start(dataDir: dir, extra: ["--log-format", "json"]),
                                  "restart after a torn tail failed")
        defer { second.terminate() }
        let lines = jsonLines(second.output)
        let cut = try #require(lines.first { ($0["msg"] as? String) == "cut the log's torn tail" },
                               "no cut line in \(second.output)")
        #expect((cut["file"] as? String)?.hasSuffix("/log-00000000000000000001.wal") == true)
        #expect(cut["offset"] as? String == "\(tornAt)")
        #expect(cut["level"] as? String == "warning")
        #expect(cut["first_cut_lsn"] as? String == "3")
        let recovered = try #require(lines.first { ($0["msg"] as? String) == "recovered" },
                                     "no recovery line in \(second.output)")
        #expect((recovered["data_dir"] as? String)?.hasPrefix("/") == true)
        #expect(recovered["snapshot_lsn"] as? String == "0")
        #expect(recovered["replayed_from_lsn"] as? String == "1")
        #expect(recovered["replayed_through_lsn"] as? String == "2")
        #expect(recovered["records"] as? String == "2")
        #expect(Double(recovered["seconds"] as? String ?? "") != nil)
        #expect(recovered["ts"] is String && recovered["logger"] as? String == "kamino.serve")

        // And what was acknowledged before the kill is all there.
        let again = try #require(WireTestClient(port: second.port))
        guard case .reply(_, .lookupTransfers(let found), _) = again.call(.lookupTransfers([10])) else {
            Issue.record("no lookup_transfers reply")
            return
        }
        #expect(found.map(\.amount) == [5])
        // Cut and shut down cleanly: nothing is left for a start to change.
        second.expectCleanExit()
        #expect(runProcess([kamino, "wal", "verify", dir], log: dir + ".verify-after.out") == 0,
                "\(String(decoding: fileBytes(dir + ".verify-after.out"), as: UTF8.self))")
    }

    @Test func snapshotFallbackAndStaleTemporariesAreLoggedAndRemoved() throws {
        let dir = temporaryDataDir("recovery-fallback")
        defer { removeDataDir(dir) }
        let first = try #require(ServerProcess.start(dataDir: dir, extra: ["--snapshot-every", "2"]),
                                 "kamino serve did not start")
        let client = try #require(WireTestClient(port: first.port))
        /// Waits until the snapshot at `lsn` (written in the background) is logged as
        /// written, and a moment more for its slot to be free (one due while another is
        /// being written is skipped).
        func waitForSnapshot(_ lsn: UInt64) -> Bool {
            let deadline = monotonicSeconds() + 30
            while monotonicSeconds() < deadline {
                let written = first.output.split(separator: "\n").contains {
                    $0.contains("snapshot written") && $0.contains("snapshot_lsn=\(lsn) ")
                }
                if written && access(dir + "/" + SnapshotInfo.fileName(lsn: lsn), F_OK) == 0 {
                    usleep(200_000)
                    return true
                }
                usleep(20_000)
            }
            return false
        }
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))
        #expect(allCreated(client.call(.createTransfers([transfer(10, from: 1, to: 2, amount: 5)]))))
        #expect(waitForSnapshot(2))
        #expect(allCreated(client.call(.createTransfers([transfer(11, from: 1, to: 2, amount: 6)]))))
        #expect(allCreated(client.call(.createTransfers([transfer(12, from: 2, to: 1, amount: 1)]))))
        #expect(waitForSnapshot(4))
        #expect(allCreated(client.call(.createTransfers([transfer(13, from: 1, to: 2, amount: 2)]))))
        first.expectCleanExit()

        // The newest snapshot fails its checksum; three interrupted snapshot writes are left.
        let newest = dir + "/" + SnapshotInfo.fileName(lsn: 4)
        let size = fileBytes(newest).count
        try #require(size > 64 && flipByte(newest, at: size - 1))
        let stale = [7, 8, 9].map { SnapshotInfo.fileName(lsn: $0) + ".tmp" }
        for name in stale {
            let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let bytes = [UInt8](repeating: 0x5A, count: 1 << 16)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }

        // `wal verify` says what a start would do, and does not pass.
        let kamino = try #require(builtExecutable("kamino"))
        let verifyLog = dir + ".verify.out"
        #expect(runProcess([kamino, "wal", "verify", dir], log: verifyLog) == 1)
        let verify = String(decoding: fileBytes(verifyLog), as: UTF8.self)
        #expect(verify.contains("FALLBACK: snapshot LSN 4 is skipped"), "\(verify)")
        #expect(verify.contains("a start rebuilds LSN 5 from snapshot LSN 2"), "\(verify)")
        for name in stale { #expect(verify.contains("STALE: a start removes \(name)"), "\(verify)") }

        let second = try #require(ServerProcess.start(dataDir: dir, extra: ["--log-format", "json"]),
                                  "restart after a corrupt snapshot failed")
        defer { second.terminate() }
        let lines = jsonLines(second.output)
        let fallback = try #require(lines.first { ($0["msg"] as? String) == "snapshot skipped, falling back to an older state" },
                                    "no fallback line in \(second.output)")
        #expect(fallback["level"] as? String == "warning")
        #expect(fallback["snapshot_lsn"] as? String == "4")
        #expect((fallback["file"] as? String)?.hasSuffix("/" + SnapshotInfo.fileName(lsn: 4)) == true)
        #expect((fallback["reason"] as? String)?.isEmpty == false)
        let removed = try #require(lines.first { ($0["msg"] as? String) == "removed stale temporary files of interrupted writes" },
                                   "no removal line in \(second.output)")
        #expect(removed["files"] as? String == stale.joined(separator: ","))
        for name in stale { #expect(access(dir + "/" + name, F_OK) != 0, "\(name) is still there") }
        let recovered = try #require(lines.first { ($0["msg"] as? String) == "recovered" })
        #expect(recovered["snapshot_lsn"] as? String == "2")
        #expect(recovered["replayed_from_lsn"] as? String == "3")
        #expect(recovered["replayed_through_lsn"] as? String == "5")
        #expect(recovered["records"] as? String == "3")
        let again = try #require(WireTestClient(port: second.port))
        guard case .reply(_, .lookupAccounts(let balances), _) = again.call(.lookupAccounts([1, 2])) else {
            Issue.record("no lookup_accounts reply")
            return
        }
        #expect(balances.map(\.debitsPosted) == [13, 1])
    }
}
