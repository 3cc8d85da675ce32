import Foundation
import Glibc
import KaminoTestSupport
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
    }
}
