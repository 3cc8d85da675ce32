import StressSupport
import LedgerStorage

/// `bench` mode: log append throughput at a batch size against raw io_uring
/// write+fdatasync of the same commit size on the same disk.
enum Bench {
    static func run(directory: String, events: Int, concurrency: Int, seconds: Double) async -> Int32 {
        let dir = directory + "/bench-\(events)"
        let body = Payload.make(seed: 42, length: events * 128 - 16)
        let writer: WALWriter
        do throws(WALError) {
            (writer, _) = try await WALWriter.openAsync(WALConfiguration(directory: dir, segmentSize: 256 << 20))
        } catch {
            Output.error("open failed: \(error)")
            return 2
        }
        let start = monotonicSeconds()
        let deadline = start + seconds
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while monotonicSeconds() < deadline {
                        do throws(WALError) {
                            _ = try await writer.appendDurably(operation: 1, timestamp: 0, eventCount: UInt32(events), body: body)
                        } catch {
                            Output.error("append failed: \(error)")
                            return
                        }
                    }
                }
            }
        }
        let elapsed = monotonicSeconds() - start
        let stats = writer.stats
        await writer.close()
        let records = Double(stats.appends) / elapsed
        let mb = Double(stats.bytesWritten) / elapsed / 1_000_000
        let commit = stats.writes > 0 ? Int(stats.bytesWritten / stats.writes) : 0
        let raw: RawWriteBenchmark.Result
        do throws(WALError) {
            raw = try await DedicatedThread.run { () throws(WALError) in
                try RawWriteBenchmark.run(path: dir + "/raw.bin", commitSize: max(commit, 512), seconds: seconds)
            }
        } catch {
            Output.error("raw benchmark failed: \(error)")
            return 2
        }
        Output.line(
            "events=\(events) concurrency=\(concurrency) records/s=\(Int(records)) events/s=\(Int(records * Double(events))) "
                + "MB/s=\(fmt(mb)) commits/s=\(Int(Double(stats.writes) / elapsed)) avg_commit_bytes=\(commit) "
                + "raw_MB/s=\(fmt(raw.megabytesPerSecond)) raw_commits/s=\(Int(raw.commitsPerSecond)) "
                + "fraction_of_raw=\(fmt(mb / raw.megabytesPerSecond))")
        return 0
    }

    static func fmt(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return String(scaled)
    }
}
