@testable import LedgerStorage
import Testing

/// `WALWriter.durablePoint`: the durable LSN with its record's timestamp, read together.
@Suite("WAL durable point")
struct DurablePointTests {
    @Test("the durable point follows each group commit; 0 after open, also over a segment roll")
    func followsGroupCommits() async throws {
        let dir = TempDir("durable-point")
        defer { dir.remove() }
        let configuration = WALConfiguration(directory: dir.path, segmentSize: 1 << 12)
        let (writer, _) = try WALWriter.open(configuration)
        #expect(writer.durablePoint == (0, 0))
        for i in 1...40 {
            // 200-byte bodies: several records per 4 KiB segment, so segments roll.
            let lsn = try await writer.appendDurably(operation: 1, timestamp: 1_000 * UInt64(i), eventCount: 1,
                                                     body: testBody(i, length: 200))
            let point = writer.durablePoint
            #expect(point.lsn >= lsn && point.timestamp == 1_000 * point.lsn, "record \(i): \(point)")
        }
        // A group of several records: the newest one's timestamp.
        var last: UInt64 = 0
        for i in 41...50 {
            last = try writer.append(operation: 1, timestamp: 1_000 * UInt64(i), eventCount: 1, body: testBody(i, length: 100))
        }
        try await writer.waitDurable(last)
        #expect(writer.durablePoint == (50, 50_000))
        await writer.close()
        // Reopened: the timestamp starts at 0 (conservative) until the next write.
        let (reopened, _) = try WALWriter.open(configuration)
        #expect(reopened.durablePoint == (50, 0))
        _ = try await reopened.appendDurably(operation: 1, timestamp: 51_000, eventCount: 1, body: testBody(51, length: 10))
        #expect(reopened.durablePoint == (51, 51_000))
        await reopened.close()
    }
}
