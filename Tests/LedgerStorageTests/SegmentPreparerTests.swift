#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import LedgerStorage
import Testing

/// Waits up to `seconds` for `condition`; true when it held.
private func eventually(seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Double(time(nil)) + seconds
    while Double(time(nil)) < deadline {
        if try condition() { return true }
        usleep(5000)
    }
    return try condition()
}

/// The size of the file at `path` (-1 when absent).
private func sizeOf(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : -1
}

/// Writes `count` records of 900 bytes one group at a time into 8 KiB segments; with
/// `prepare`, waits after each record until the next segment is prepared (once it is
/// being prepared), so that rolls take prepared files. Returns the bodies and the stats.
private func writeLog(_ dir: String, count: Int, prepare: Bool) async throws -> ([[UInt8]], WALStats) {
    let config = WALConfiguration(directory: dir, segmentSize: 8192, prepareSegments: prepare)
    let (w, _) = try WALWriter.open(config)
    var bodies: [[UInt8]] = []
    let temporary = FileIO.join(dir, SegmentPreparer.fileName)
    for i in 0..<count {
        let body = testBody(i, length: 900)
        bodies.append(body)
        _ = try await w.appendDurably(operation: 1, timestamp: UInt64(1000 + i), eventCount: 1, body: body)
        if prepare, FileIO.exists(temporary) {
            // Full length, then a moment for its fsync.
            _ = eventually { sizeOf(temporary) == 8192 }
            usleep(50_000)
        }
    }
    let stats = w.stats
    await w.close()
    return (bodies, stats)
}

@Suite("Segment preparer")
struct SegmentPreparerTests {
    @Test("A prepared file is the segment's full length, all zeros, under a name no reader takes for a segment")
    func preparesZeros() throws {
        let dir = TempDir("segprep-unit")
        defer { dir.remove() }
        let preparer = SegmentPreparer(directory: dir.path, segmentSize: 3 << 20)
        preparer.request()
        var fd: Int32?
        #expect(eventually { fd = preparer.take(); return fd != nil })
        let ready = try #require(fd)
        defer { FileIO.close(ready) }
        let bytes = try readFile(dir.file(SegmentPreparer.fileName))
        #expect(bytes.count == 3 << 20)
        #expect(bytes.allSatisfy { $0 == 0 })
        // The writer appends through the descriptor at offsets that are not block-aligned.
        try [UInt8](repeating: 7, count: 13).withBytes { b throws(WALError) in
            try FileIO.pwrite(ready, b, offset: 8, path: SegmentPreparer.fileName)
        }
        #expect(try readFile(dir.file(SegmentPreparer.fileName))[8..<21].allSatisfy { $0 == 7 })
        #expect(SegmentName(fileName: SegmentPreparer.fileName) == nil)
        #expect(try SegmentName.list(in: dir.path).isEmpty)
        #expect(preparer.failures == 0)
        preparer.stop()
        #expect(!FileIO.exists(dir.file(SegmentPreparer.fileName)), "stop removes the temporary")
    }

    @Test("Rolls rename prepared segments in; the log reads back the same as with fallocated segments, and a close leaves no temporary")
    func rollsTakePreparedSegments() async throws {
        let prepared = TempDir("segprep-on")
        let fallocated = TempDir("segprep-off")
        defer {
            prepared.remove()
            fallocated.remove()
        }
        let (bodies, stats) = try await writeLog(prepared.path, count: 60, prepare: true)
        let (sameBodies, offStats) = try await writeLog(fallocated.path, count: 60, prepare: false)
        #expect(bodies == sameBodies)
        #expect(stats.segmentsPrepared >= 1 && stats.segmentsPrepared < stats.segmentsCreated, "\(stats)")
        #expect(offStats.segmentsPrepared == 0 && offStats.segmentsCreated == stats.segmentsCreated)
        #expect(!FileIO.exists(prepared.file(SegmentPreparer.fileName)), "a close removes the prepared file")
        // Recovery over the prepared segments' zero tails equals today's over fallocated ones.
        let a = try WALRecovery.recover(directory: prepared.path, mode: .readOnly)
        let b = try WALRecovery.recover(directory: fallocated.path, mode: .readOnly)
        #expect(a == b)
        #expect(a.cut == nil && a.lastLSN == 60)
        #expect(try readAll(prepared.path).map(\.body) == bodies)
        let verdict = DirectoryCheck.evaluate(try DirectoryCheck.Inventory.read(directory: prepared.path))
        #expect(!verdict.changesOrRefuses, "\(verdict.refusals) \(verdict.staleTemporaries)")
    }

    @Test("A prepared file left by a kill -9 (even one holding records) is never read, is removed at start, and the start is otherwise unchanged")
    func leftoverIsRemovedAtStart() async throws {
        let dir = TempDir("segprep-leftover")
        defer { dir.remove() }
        let (bodies, _) = try await writeLog(dir.path, count: 20, prepare: false)
        let before = DirectoryCheck.evaluate(try DirectoryCheck.Inventory.read(directory: dir.path))
        // Worst case: the temporary holds records that continue the log (a real one holds
        // zeros only); they must not count.
        let segments = try SegmentName.list(in: dir.path)
        try writeFile(dir.file(SegmentPreparer.fileName), readFile(dir.file(segments[0].fileName)))
        let inventory = try DirectoryCheck.Inventory.read(directory: dir.path)
        let verdict = DirectoryCheck.evaluate(inventory)
        #expect(verdict.staleTemporaries == [SegmentPreparer.fileName])
        #expect(verdict.refusals.isEmpty && verdict.cut == nil)
        // It is left by every stop that was not clean and never held data: `wal verify`
        // does not fail on it (a snapshot's temporary still counts).
        #expect(!verdict.changesOrRefuses)
        try writeFile(dir.file("snapshot-1.snap.tmp"), [1, 2, 3])
        #expect(DirectoryCheck.evaluate(try DirectoryCheck.Inventory.read(directory: dir.path)).changesOrRefuses)
        #expect(unlink(dir.file("snapshot-1.snap.tmp")) == 0)
        #expect(verdict.recoveredLSN == before.recoveredLSN && inventory.log.lastLSN == 20)
        let (w, report) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 8192))
        #expect(report.lastLSN == 20 && report.cut == nil)
        #expect(w.startup.staleTemporaries == [SegmentPreparer.fileName])
        #expect(!FileIO.exists(dir.file(SegmentPreparer.fileName)))
        _ = try await w.appendDurably(operation: 1, timestamp: 5000, eventCount: 1, body: testBody(99, length: 900))
        await w.close()
        #expect(try readAll(dir.path).map(\.body) == bodies + [testBody(99, length: 900)])
    }

    @Test("A prepared segment renamed in but never written (kill -9 right after the roll) reads as a fallocated one and takes the next records")
    func renamedEmptySegmentIsAnEmptySegment() async throws {
        let zeroed = TempDir("segprep-renamed")
        let fallocated = TempDir("segprep-created")
        defer {
            zeroed.remove()
            fallocated.remove()
        }
        for dir in [zeroed, fallocated] { _ = try await writeLog(dir.path, count: 20, prepare: false) }
        let next = SegmentName(firstLSN: 21).fileName
        try writeFile(zeroed.file(next), [UInt8](repeating: 0, count: 8192))
        let fd = try FileIO.open(fallocated.file(next), O_RDWR | O_CREAT | O_EXCL)
        try FileIO.preallocate(fd, size: 8192, path: next)
        FileIO.close(fd)
        let a = try WALRecovery.recover(directory: zeroed.path, mode: .readOnly)
        let b = try WALRecovery.recover(directory: fallocated.path, mode: .readOnly)
        #expect(a == b)
        #expect(a.segments.last?.name.fileName == next && a.segments.last?.records == 0 && a.cut == nil)
        let (w, _) = try WALWriter.open(WALConfiguration(directory: zeroed.path, segmentSize: 8192))
        #expect(try await w.appendDurably(operation: 1, timestamp: 5000, eventCount: 1, body: testBody(7, length: 900)) == 21)
        await w.close()
        #expect(try readAll(zeroed.path, from: 21).map(\.lsn) == [21])
    }

    @Test("Wiping a data directory removes a prepared file too")
    func wipeRemovesPreparedFile() async throws {
        let dir = TempDir("segprep-wipe")
        defer { dir.remove() }
        _ = try await writeLog(dir.path, count: 10, prepare: false)
        try writeFile(dir.file(SegmentPreparer.fileName), [UInt8](repeating: 0, count: 8192))
        let removed = try DirectoryWipe.removeLedgerFiles(directory: dir.path)
        #expect(removed.contains(SegmentPreparer.fileName))
        #expect(try FileIO.list(dir.path).allSatisfy { $0 == DataDirectoryLock.fileName })
    }
}
