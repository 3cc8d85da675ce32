import StressSupport
import LedgerStorage

/// `stress` mode: many concurrent appenders append self-describing batches
/// and print `ack <lsn> <seed> <length>` only after the LSN is durable.
enum Stress {
    static func run(directory: String, appenders: Int, segmentSize: Int, seconds: Double) async -> Int32 {
        let writer: WALWriter
        do throws(WALError) {
            let (w, report) = try await WALWriter.openAsync(WALConfiguration(directory: directory, segmentSize: segmentSize))
            writer = w
            Output.error("recovered lastLSN=\(report.lastLSN) cut=\(report.cut.map { "\($0.file)@\($0.offset)" } ?? "none")")
        } catch {
            Output.error("open failed: \(error)")
            return 2
        }
        let deadline = monotonicSeconds() + seconds
        let failures = await withTaskGroup(of: Int.self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    var counter: UInt64 = 0
                    while monotonicSeconds() < deadline {
                        counter += 1
                        let seed = (UInt64(appender) << 40) | (UInt64(UInt32(truncatingIfNeeded: Int(monotonicSeconds() * 1000))) << 20) ^ counter
                        let events = Int(seed % 16) + 1
                        let body = Payload.make(seed: seed, length: events * 128)
                        do throws(WALError) {
                            let lsn = try writer.append(operation: 1, timestamp: seed, eventCount: UInt32(events), body: body)
                            try await writer.waitDurable(lsn)
                            Output.line("ack \(lsn) \(seed) \(events * 128)")
                        } catch {
                            Output.error("append failed: \(error)")
                            return 1
                        }
                    }
                    return 0
                }
            }
            var failed = 0
            for await f in group { failed += f }
            return failed
        }
        await writer.close()
        return failures == 0 ? 0 : 1
    }
}
