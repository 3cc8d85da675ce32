#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing

@testable import LedgerStorage

/// Segments of 8 KiB hold 8 records of 968 bytes each: LSNs 1-8, 9-16, 17-24, ...
let truncationSegmentSize = 8192

/// Writes `count` records with bodies `testBody(i, length: 900)`; record `i` (LSN i + 1)
/// is written in epoch `epochOf(i + 1)`. Returns the bodies.
func writeEpochLog(_ dir: String, count: Int, preallocation: WALConfiguration.Preallocation = .fallocate,
                   epochOf: (UInt64) -> UInt64 = { _ in 1 }) async throws -> [[UInt8]] {
    let configuration = WALConfiguration(directory: dir, segmentSize: truncationSegmentSize, preallocation: preallocation)
    let (w, _) = try WALWriter.open(configuration)
    var bodies: [[UInt8]] = []
    for i in 0..<count {
        let body = testBody(i, length: 900)
        bodies.append(body)
        let lsn = try w.append(operation: 1, timestamp: UInt64(1000 + i), eventCount: 1, body: body, epoch: epochOf(UInt64(i + 1)))
        try await w.waitDurable(lsn)
    }
    await w.close()
    return bodies
}

/// What `kamino wal verify` decides for `dir`.
func verdict(_ dir: String) throws -> DirectoryCheck.Verdict {
    DirectoryCheck.evaluate(try DirectoryCheck.Inventory.read(directory: dir))
}

/// Opens the log, checks it ends at `lsn` with the records `bodies[0..<lsn]` (from
/// `from`), appends one record and checks it gets `lsn + 1`, and closes.
func expectReopensAt(_ dir: String, lsn: UInt64, from: UInt64 = 1, bodies: [[UInt8]]) async throws {
    let (w, _) = try WALWriter.open(WALConfiguration(directory: dir, segmentSize: truncationSegmentSize))
    #expect(w.lastAssignedLSN == lsn)
    let next = try await w.appendDurably(operation: 2, timestamp: 99_999, eventCount: 1, body: [7, 7, 7])
    #expect(next == lsn + 1)
    await w.close()
    let records = try readAll(dir, from: from)
    #expect(records.map(\.lsn) == Array(from...(lsn + 1)))
    #expect(records.dropLast().map(\.body) == Array(bodies[Int(from - 1)..<Int(lsn)]))
    #expect(records.last?.body == [7, 7, 7])
}

@Suite struct LogTruncationTests {
    @Test(arguments: [UInt64(20), 16, 17, 1, 0])
    func truncateInsideTheLog(lsn: UInt64) async throws {
        let dir = TempDir("truncate-\(lsn)")
        defer { dir.remove() }
        let bodies = try await writeEpochLog(dir.path, count: 40) { $0 <= 15 ? 1 : $0 <= 30 ? 2 : 3 }
        try history([(1, 1), (2, 16), (3, 31)]).write(directory: dir.path)
        let before = try SegmentName.list(in: dir.path)
        #expect(before.map(\.firstLSN) == [1, 9, 17, 25, 33])
        var steps: [String] = []
        let outcome = try LogTruncation.truncate(directory: dir.path, after: lsn) { step in
            steps.append(step)
            // A kill -9 here leaves this state: a start must accept it.
            let v = try? verdict(dir.path)
            #expect(v?.refusals == [], "after \(step)")
        }
        let removedSegments = before.filter { $0.firstLSN > lsn }.map(\.fileName).reversed()
        #expect(outcome == .truncated(removedRecords: 40 - lsn, removedFiles: Array(removedSegments)))
        #expect(steps.first == "control file written")
        let v = try verdict(dir.path)
        #expect(v.refusals.isEmpty && !v.changesOrRefuses && v.recoveredLSN == lsn)
        #expect(try EpochHistoryFile.read(directory: dir.path) == history([(1, 1), (2, 16), (3, 31)]).truncated(after: lsn))
        #expect(try ControlFile.load(directory: dir.path)?.durableLSN ?? 0 <= lsn)
        // Idempotent.
        #expect(try LogTruncation.truncate(directory: dir.path, after: lsn) == .truncated(removedRecords: 0, removedFiles: []))
        // The epochs are the ones written.
        for record in try readAll(dir.path) { #expect(record.epoch == (record.lsn <= 15 ? 1 : 2)) }
        try await expectReopensAt(dir.path, lsn: lsn, bodies: bodies)
    }

    @Test func segmentsWithoutPreallocationReopenAfterTheCut() async throws {
        let dir = TempDir("truncate-short")
        defer { dir.remove() }
        let bodies = try await writeEpochLog(dir.path, count: 20, preallocation: .none)
        let last = dir.file(SegmentName(firstLSN: 17).fileName)
        let before = try readFile(last).count
        #expect(before == 4 * 968)   // shorter than the segment size: no preallocation
        #expect(try LogTruncation.truncate(directory: dir.path, after: 18) == .truncated(removedRecords: 2, removedFiles: []))
        let after = try readFile(last)
        #expect(after.count == before && after[(2 * 968)...].allSatisfy { $0 == 0 })
        let configuration = WALConfiguration(directory: dir.path, segmentSize: truncationSegmentSize, preallocation: .none)
        let (w, _) = try WALWriter.open(configuration)
        #expect(w.lastAssignedLSN == 18)
        for i in 0..<10 {   // fills the segment and rolls to a new one
            _ = try await w.appendDurably(operation: 1, timestamp: 5000, eventCount: 1, body: testBody(100 + i, length: 900))
        }
        await w.close()
        let records = try readAll(dir.path)
        #expect(records.map(\.lsn) == Array(1...28))
        #expect(Array(records.prefix(18).map(\.body)) == Array(bodies.prefix(18)))
        #expect(try verdict(dir.path).refusals.isEmpty)
    }

    @Test func truncateAtTheLastLSNChangesNothing() async throws {
        let dir = TempDir("truncate-last")
        defer { dir.remove() }
        let bodies = try await writeEpochLog(dir.path, count: 20)
        let names = try FileIO.list(dir.path).sorted()
        let segment = try readFile(dir.file(SegmentName(firstLSN: 17).fileName))
        #expect(try LogTruncation.truncate(directory: dir.path, after: 20) == .truncated(removedRecords: 0, removedFiles: []))
        #expect(try LogTruncation.truncate(directory: dir.path, after: 500) == .truncated(removedRecords: 0, removedFiles: []))
        #expect(try FileIO.list(dir.path).sorted() == names)
        #expect(try readFile(dir.file(SegmentName(firstLSN: 17).fileName)) == segment)
        try await expectReopensAt(dir.path, lsn: 20, bodies: bodies)
    }

    @Test func snapshotsAboveTheLSNGoAndTheOneBelowStays() async throws {
        let dir = TempDir("truncate-snap")
        defer { dir.remove() }
        let bodies = try await writeEpochLog(dir.path, count: 40)
        let store = SnapshotStore(directory: dir.path)
        try store.write(lsn: 12) { sink throws(WALError) in try sink.write([12]) }
        try store.write(lsn: 30) { sink throws(WALError) in try sink.write([30]) }
        try ControlFile(snapshotLSN: 30, durableLSN: 40, lastSegmentLSN: 33).write(directory: dir.path)
        let outcome = try LogTruncation.truncate(directory: dir.path, after: 22) { step in
            #expect((try? verdict(dir.path))?.refusals == [], "after \(step)")
        }
        #expect(outcome == .truncated(removedRecords: 18, removedFiles: [SnapshotInfo.fileName(lsn: 30),
                                                                         SegmentName(firstLSN: 33).fileName,
                                                                         SegmentName(firstLSN: 25).fileName]))
        #expect(try store.list().map(\.lsn) == [12])
        #expect(try ControlFile.load(directory: dir.path) == ControlFile(snapshotLSN: 12, durableLSN: 22, lastSegmentLSN: 17))
        let v = try verdict(dir.path)
        #expect(v.refusals.isEmpty && v.snapshot?.lsn == 12 && v.recoveredLSN == 22)
        try await expectReopensAt(dir.path, lsn: 22, bodies: bodies)
    }

    @Test func belowEverySnapshotTheDirectoryNeedsASnapshot() async throws {
        let dir = TempDir("truncate-needs")
        defer { dir.remove() }
        _ = try await writeEpochLog(dir.path, count: 40)
        let store = SnapshotStore(directory: dir.path)
        try store.write(lsn: 26) { sink throws(WALError) in try sink.write([26]) }
        try store.write(lsn: 30) { sink throws(WALError) in try sink.write([30]) }
        try store.removeObsolete(keep: 2)   // the log now starts at LSN 25
        try ControlFile(snapshotLSN: 30, durableLSN: 40, lastSegmentLSN: 33).write(directory: dir.path)
        try history([(1, 1)]).write(directory: dir.path)
        try writeFile(dir.file(SnapshotDownload.partFileName(lsn: 35)), [1, 2, 3])
        #expect(try SegmentName.list(in: dir.path).first?.firstLSN == 25)
        var steps = 0
        let outcome = try LogTruncation.truncate(directory: dir.path, after: 20) { step in
            steps += 1
            #expect((try? verdict(dir.path))?.refusals == [], "after \(step)")
        }
        #expect(outcome == .needsSnapshot)
        #expect(steps >= 5)
        // Only the lock and the resumable download stay.
        #expect(try FileIO.list(dir.path).sorted() == [SnapshotDownload.partFileName(lsn: 35), DataDirectoryLock.fileName])
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: truncationSegmentSize))
        #expect(w.lastAssignedLSN == 0)
        await w.close()
    }

    @Test func anInterruptedTruncationIsFinishedByTheNextCall() async throws {
        let dir = TempDir("truncate-crash")
        defer { dir.remove() }
        let bodies = try await writeEpochLog(dir.path, count: 40)
        let pristine = TempDir("truncate-crash-pristine")
        defer { pristine.remove() }
        try copyDirectory(dir.path, pristine.path)
        // Every step a kill -9 can stop at: the state is kept (a copy), then the next
        // call finishes from it.
        var states: [TempDir] = []
        _ = try LogTruncation.truncate(directory: dir.path, after: 20) { step in
            let copy = TempDir("truncate-crash-\(states.count)")
            try? copyDirectory(dir.path, copy.path)
            states.append(copy)
        }
        #expect(states.count == 4)   // control, two segments, the tail
        defer { for s in states { s.remove() } }
        for state in states {
            // A start accepts it as it is (the first: control written, no file removed yet).
            let v = try verdict(state.path)
            #expect(v.refusals.isEmpty)
            #expect(try LogTruncation.truncate(directory: state.path, after: 20) != .needsSnapshot)
            #expect(try verdict(state.path).recoveredLSN == 20)
            try await expectReopensAt(state.path, lsn: 20, bodies: bodies)
        }
        // The first state still holds the whole log: a plain start serves it as it is.
        let again = TempDir("truncate-crash-again")
        defer { again.remove() }
        try copyDirectory(pristine.path, again.path)
        try ControlFile(snapshotLSN: 0, durableLSN: 20, lastSegmentLSN: 17).write(directory: again.path)
        #expect(try verdict(again.path).refusals.isEmpty)
        let (w, _) = try WALWriter.open(WALConfiguration(directory: again.path, segmentSize: truncationSegmentSize))
        #expect(w.lastAssignedLSN == 40)
        await w.close()
    }

    @Test func refusedWhileAWriterHoldsTheDirectory() async throws {
        let dir = TempDir("truncate-locked")
        defer { dir.remove() }
        _ = try await writeEpochLog(dir.path, count: 10)
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: truncationSegmentSize))
        let error = #expect(throws: WALError.self) { try LogTruncation.truncate(directory: dir.path, after: 5) }
        #expect(error?.code == .locked)
        await w.close()
        #expect(try readAll(dir.path).count == 10)
    }

    @Test func aDirectoryThatIsRefusedIsNotTruncated() async throws {
        let dir = TempDir("truncate-refused")
        defer { dir.remove() }
        _ = try await writeEpochLog(dir.path, count: 30)
        try FileIO.unlink(dir.file(SegmentName(firstLSN: 9).fileName))
        let names = try FileIO.list(dir.path).sorted()
        let error = #expect(throws: WALError.self) { try LogTruncation.truncate(directory: dir.path, after: 20) }
        #expect(error.map { [.missingRecords, .damaged].contains($0.code) } == true)
        #expect(try FileIO.list(dir.path).sorted() == names)
    }
}
