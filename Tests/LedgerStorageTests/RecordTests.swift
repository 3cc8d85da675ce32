import Testing
@testable import LedgerStorage

@Suite struct RecordTests {
    @Test func headerEncodeDecodeRoundTrip() {
        let h = RecordHeader(operation: 9, lsn: 123_456, timestamp: 0xDEAD_BEEF_0000_0001, durableWatermark: 123_400,
                             eventCount: 8189, bodyLength: 1_048_192, bodyChecksum: 0xABCD_1234)
        var bytes = [UInt8](repeating: 0xEE, count: RecordHeader.size)
        bytes.withUnsafeMutableBytes { b in if let p = b.baseAddress { h.encode(to: p) } }
        let decoded = bytes.withUnsafeBytes { b in b.baseAddress.flatMap { RecordHeader.decode($0) } }
        #expect(decoded == h)
        #expect(Array(bytes[0..<4]) == Array("KWAL".utf8))
        // Any single-bit change in the header is rejected.
        for bit in 0..<(RecordHeader.size * 8) {
            var copy = bytes
            copy[bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(copy.withUnsafeBytes { b in b.baseAddress.flatMap { RecordHeader.decode($0) } } == nil)
        }
    }

    @Test func appendReadBackAndReopen() async throws {
        let dir = TempDir("roundtrip")
        defer { dir.remove() }
        let lengths = [0, 1, 7, 8, 9, 1000, 5000, 20000, 3, 64]
        let bodies = try await writeSequential(dir.path, count: lengths.count, segmentSize: 24 << 10) { lengths[$0] }
        let records = try readAll(dir.path)
        #expect(records.map(\.lsn) == Array(1...UInt64(lengths.count)))
        #expect(records.map(\.body) == bodies)
        #expect(records.map(\.operation) == (0..<lengths.count).map { UInt8($0 % 7) })
        #expect(records.map(\.timestamp) == (0..<lengths.count).map { UInt64(1000 + $0) })
        #expect(records.map(\.eventCount) == (0..<lengths.count).map { UInt32($0) })
        // Several segments were used (24 KiB each).
        let segments = try SegmentName.list(in: dir.path)
        #expect(segments.count > 1)

        // Reopen: recovery finds everything, LSNs continue.
        let (w, report) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 24 << 10))
        #expect(report.lastLSN == UInt64(lengths.count))
        #expect(report.cut == nil)
        let lsn = try await w.appendDurably(operation: 1, timestamp: 5, eventCount: 1, body: [1, 2, 3])
        #expect(lsn == UInt64(lengths.count + 1))
        await w.close()
        let again = try readAll(dir.path, from: 5)
        #expect(again.first?.lsn == 5)
        #expect(again.last?.body == [1, 2, 3])
        // A bounded read that runs past the log reports missing records.
        var it = try WALReader(directory: dir.path).records(from: 1, through: 100)
        #expect(throws: WALError.self) { while try it.next() != nil {} }
    }

    @Test func oversizedBodyIsRejected() throws {
        let dir = TempDir("oversize")
        defer { dir.remove() }
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 4096))
        #expect(throws: WALError.self) {
            _ = try w.append(operation: 0, timestamp: 0, eventCount: 1, body: [UInt8](repeating: 0, count: 5000))
        }
    }

    @Test func groupCommitBatchesConcurrentAppends() async throws {
        let dir = TempDir("group")
        defer { dir.remove() }
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 1 << 20))
        let n = 400
        let lsns = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 0..<n {
                group.addTask { try await w.appendDurably(operation: 2, timestamp: 0, eventCount: 1, body: testBody(i, length: 128)) }
            }
            var all: [UInt64] = []
            for try await l in group { all.append(l) }
            return all
        }
        let stats = w.stats
        await w.close()
        #expect(Set(lsns) == Set(1...UInt64(n)))
        #expect(stats.appends == UInt64(n))
        #expect(stats.writes < stats.appends, "group commit: \(stats.writes) writes for \(stats.appends) appends")
        #expect(stats.largestGroup > 1)
        #expect(try readAll(dir.path).count == n)
    }
}
