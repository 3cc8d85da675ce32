import Testing
@testable import LedgerStorage

@Suite struct TornTailTests {
    /// Cuts the last record at every byte offset (rest zero, as in a
    /// preallocated file, or garbage): recovery must cut it, keep the rest,
    /// and never return the torn record.
    @Test(arguments: [UInt8(0), UInt8(0xA5)])
    func tornLastRecordAtEveryOffset(fill: UInt8) async throws {
        let source = TempDir("torn-src")
        defer { source.remove() }
        let count = 6
        let bodies = try await writeSequential(source.path, count: count) { 40 + $0 * 13 }
        let segName = SegmentName(firstLSN: 1).fileName
        let original = try readFile(source.file(segName))
        let offsets = recordOffsets(original)
        #expect(offsets.count == count)
        guard let last = offsets.last else { return }

        for k in 0..<last.length {
            let dir = TempDir("torn")
            defer { dir.remove() }
            var bytes = original
            for i in (last.offset + k)..<(last.offset + last.length) { bytes[i] = fill }
            try writeFile(dir.file(segName), bytes)
            if bytes == original {
                // Only zero padding was "lost": the record is complete and stays.
                #expect(try WALRecovery.recover(directory: dir.path, mode: .readOnly).lastLSN == UInt64(count))
                continue
            }

            let report = try WALRecovery.recover(directory: dir.path, mode: .repair(preallocation: .fallocate, segmentSize: 64 << 10))
            #expect(report.lastLSN == UInt64(count - 1), "cut at +\(k)")
            if k > 0 || fill != 0 {
                #expect(report.cut?.offset == last.offset, "cut at +\(k)")
                #expect(report.cut?.firstMissingLSN == UInt64(count))
            }
            let records = try readAll(dir.path)
            #expect(records.map(\.body) == Array(bodies.prefix(count - 1)), "cut at +\(k): wrong records returned")
            // After the cut the tail is zero: a second recovery is clean.
            let again = try WALRecovery.recover(directory: dir.path, mode: .readOnly)
            #expect(again.cut == nil && again.lastLSN == UInt64(count - 1))
        }
    }

    @Test func writerContinuesAfterCut() async throws {
        let dir = TempDir("torn-continue")
        defer { dir.remove() }
        _ = try await writeSequential(dir.path, count: 4) { _ in 100 }
        let segPath = dir.file(SegmentName(firstLSN: 1).fileName)
        var bytes = try readFile(segPath)
        guard let last = recordOffsets(bytes).last else { Issue.record("no records"); return }
        bytes[last.offset + last.length - 3] ^= 0x10
        try writeFile(segPath, bytes)
        // A clean close promised LSN 4 (refused below); a crash leaves only the promise of
        // the last segment roll, here none: the damaged last record is then a torn write.
        do {
            _ = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 64 << 10))
            Issue.record("a damaged record below the control file's durable LSN was cut silently")
        } catch {
            #expect(error.code == .missingRecords)
            #expect(error.message.contains("LSN 4...4 missing"))
        }
        try ControlFile(durableLSN: 0).write(directory: dir.path)
        let (w, report) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 64 << 10))
        #expect(report.cut?.firstMissingLSN == 4)
        let lsn = try await w.appendDurably(operation: 0, timestamp: 0, eventCount: 1, body: [9, 9])
        #expect(lsn == 4)
        await w.close()
        #expect(try readAll(dir.path).last?.body == [9, 9])
    }
}
