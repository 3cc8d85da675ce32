@testable import LedgerStorage
import Testing

@Suite("Segment records")
struct SegmentRecordsTests {
    @Test("Every new segment is promised in the control file, and a close still records a clean shutdown after them")
    func newSegmentsArePromised() async throws {
        let dir = TempDir("segment-records")
        defer { dir.remove() }
        _ = try await writeSequential(dir.path, count: 60, segmentSize: 8192) { _ in 900 }
        let segments = try SegmentName.list(in: dir.path)
        #expect(segments.count > 3)
        let control = try #require(try ControlFile.load(directory: dir.path))
        #expect(control.lastSegmentLSN == segments.last?.firstLSN)
        #expect(control.durableLSN == 60)
        #expect(control.cleanShutdown)
    }

    @Test("Records asked for in a burst end with the newest written, and waitIdle returns once it is")
    func burstEndsWithTheNewest() throws {
        let dir = TempDir("segment-records-burst")
        defer { dir.remove() }
        let keeper = ControlFileKeeper(directory: dir.path, initial: ControlFile())
        let records = SegmentRecords(control: keeper)
        for lsn: UInt64 in [5, 9, 17, 12] { records.record(firstLSN: lsn) }
        records.waitIdle()
        #expect(keeper.control.lastSegmentLSN == 17)
        #expect(keeper.control.durableLSN == 16)
        #expect(try ControlFile.load(directory: dir.path)?.lastSegmentLSN == 17)
    }
}
