#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import Testing
@testable import LedgerStorage

/// The writer's way back from a failed write (`WriterRecovery`): cut, wait for
/// `permitResume`, probe, resume in a new timeline.
@Suite struct LogResumeTests {
    /// A full 256 KiB tmpfs: the writer reports failed then cut, writes nothing until
    /// permitted, resumes once space is back, and a record cut by the failure is never
    /// reported durable, even after a new record took its LSN.
    @Test(.enabled(if: canMountTmpfs(), "needs mount -t tmpfs (root)"))
    func resumesInANewTimelineOnceSpaceIsBack() async throws {
        let mnt = TempDir("resume")
        defer { mnt.remove() }
        #expect(mount("tmpfs", mnt.path, "tmpfs", 0, "size=256k") == 0)
        defer { umount2(mnt.path, Int32(MNT_DETACH)) }
        let dir = mnt.path + "/data"
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir, segmentSize: 64 << 10))
        let events = Mutex<[String]>([])
        w.onHealth { health in
            switch health {
            case .failed: events.withLock { $0.append("failed") }
            case .cut(let durable, let timeline): events.withLock { $0.append("cut \(durable) \(timeline)") }
            case .resumed(let durable): events.withLock { $0.append("resumed \(durable)") }
            }
        }
        var failed: (lsn: UInt64, timeline: UInt64)?
        for seed in 0..<200 where failed == nil {
            let (lsn, timeline) = try testBody(seed, length: 6000).withBytes { b throws(WALError) in
                try w.appendTracked(operation: 1, timestamp: 0, eventCount: 1, body: b)
            }
            do throws(WALError) { try await w.waitDurable(lsn, timeline: timeline) } catch {
                // `.stopped` when the wait began after the failure ended the timeline.
                #expect(error.code == .noSpace || error.code == .stopped)
                failed = (lsn, timeline)
            }
        }
        let cutAt = try #require(failed, "the tmpfs never filled")
        let durable = w.durableLSN
        #expect(cutAt.lsn == durable + 1 && cutAt.timeline == 0)
        // Cut, then nothing more until permitted.
        for _ in 0..<200 where events.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(events.withLock { $0 } == ["failed", "cut \(durable) 1"])
        #expect(throws: WALError.self) { try w.append(operation: 1, timestamp: 0, eventCount: 1, body: [1]) }

        #expect(mount("tmpfs", mnt.path, "tmpfs", UInt(MS_REMOUNT), "size=1m") == 0)
        w.permitResume()
        for _ in 0..<300 where w.failure != nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(w.failure == nil, "the log did not resume once space was back")
        #expect(events.withLock { $0 }.last == "resumed \(durable)")
        let again = try testBody(999, length: 100).withBytes { b throws(WALError) in
            try w.appendTracked(operation: 1, timestamp: 0, eventCount: 1, body: b)
        }
        #expect(again.lsn == cutAt.lsn && again.timeline == 1)
        try await w.waitDurable(again.lsn, timeline: again.timeline)
        // The cut record's LSN is durable again, but not the cut record.
        await #expect(throws: WALError.self) { try await w.waitDurable(cutAt.lsn, timeline: cutAt.timeline) }
        // Records of the ended timeline up to its end stay durable.
        try await w.waitDurable(durable, timeline: 0)
        await w.close()
        let records = try readAll(dir)
        #expect(records.last?.lsn == again.lsn && records.last?.body == testBody(999, length: 100))
    }

    /// A preallocated segment truncated right after its last record (what a cut leaves
    /// when the process dies before it resumes) is a valid directory: no refusal, no
    /// cut, and the log reopens and appends after it.
    @Test func aSegmentCutAfterItsLastRecordIsValid() async throws {
        let tmp = TempDir("cut-segment")
        defer { tmp.remove() }
        let dir = tmp.path + "/data"
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir, segmentSize: 64 << 10))
        for seed in 0..<5 { _ = try await w.appendDurably(operation: 1, timestamp: 0, eventCount: 1, body: testBody(seed, length: 900)) }
        await w.close()
        let report = try WALRecovery.recover(directory: dir, mode: .readOnly)
        let last = try #require(report.segments.last)
        let fd = open(dir + "/" + last.name.fileName, O_RDWR)
        #expect(fd >= 0 && ftruncate(fd, off_t(last.endOffset)) == 0)
        close(fd)
        let verdict = DirectoryCheck.evaluate(try DirectoryCheck.Inventory.read(directory: dir))
        #expect(verdict.refusals.isEmpty && verdict.cut == nil, "\(verdict.refusals) \(String(describing: verdict.cut))")
        let (reopened, _) = try WALWriter.open(WALConfiguration(directory: dir, segmentSize: 64 << 10))
        #expect(try await reopened.appendDurably(operation: 1, timestamp: 0, eventCount: 1, body: testBody(5, length: 900)) == 6)
        await reopened.close()
        #expect(try readAll(dir).map(\.lsn) == Array(1...6))
    }
}
