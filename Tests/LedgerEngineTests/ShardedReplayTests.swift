import Foundation
import KaminoTestSupport
import Testing

/// `kamino wal replay DIR --shards N` on a data dir written by `kamino bench` with
/// two-phase and linked transfers: the same digest as the serial replay for every N.
@Suite struct ShardedReplayTests {
    @Test func replayDigestIsTheSameForEveryShardCount() throws {
        guard let kamino = builtExecutable("kamino") else {
            Issue.record("kamino not found next to the test bundle; build it first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let data = dir.path + "/data"
        let bench = runProcess(
            [kamino, "bench", "--data", data, "--transfers", "60000", "--batch-size", "2000",
             "--two-phase", "0.3", "--linked", "0.2", "--seed", "11", "--quiet"],
            log: dir.path + "/bench.txt")
        #expect(bench == 0, "kamino bench failed: \(String(decoding: fileBytes(dir.path + "/bench.txt"), as: UTF8.self))")

        func replay(_ shards: Int) -> (digest: String, output: String) {
            let log = dir.path + "/replay-\(shards).txt"
            let status = runProcess([kamino, "wal", "replay", data, "--shards", "\(shards)"], log: log)
            let output = String(decoding: fileBytes(log), as: UTF8.self)
            #expect(status == 0, "replay --shards \(shards): \(output)")
            let digest = output.split(separator: "\n").first { $0.hasPrefix("digest: ") }.map(String.init) ?? "none"
            return (digest, output)
        }
        let serial = replay(0)
        #expect(serial.digest.count == "digest: ".count + 32)
        #expect(serial.output.contains("transfers: "))
        for shards in [1, 2, 4, 8] {
            let sharded = replay(shards)
            #expect(sharded.digest == serial.digest, "--shards \(shards):\n\(sharded.output)")
            if shards > 1 { #expect(sharded.output.contains("cross-shard")) }
        }
    }
}
