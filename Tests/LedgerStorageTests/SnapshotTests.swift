import Testing
@testable import LedgerStorage

/// A toy state serialized in 3 chunks.
struct ToyState: SnapshotSource {
    let chunks: [[UInt8]]
    func writeSnapshot(to sink: SnapshotSink) throws(WALError) {
        for c in chunks { try sink.write(c) }
    }
}

@Suite struct SnapshotTests {
    @Test func writeFindLoad() throws {
        let dir = TempDir("snap")
        defer { dir.remove() }
        let store = SnapshotStore(directory: dir.path)
        let state = ToyState(chunks: [testBody(1, length: 10), testBody(2, length: 3 << 20), testBody(3, length: 77)])
        let info = try store.write(lsn: 42, source: state)
        #expect(info.lsn == 42)
        #expect(store.newestValid() == info)
        var loaded: [UInt8] = []
        try store.load(info) { chunk in loaded.append(contentsOf: chunk) }
        #expect(loaded == state.chunks.flatMap { $0 })
        #expect(try FileIO.list(dir.path).allSatisfy { !$0.hasSuffix(".tmp") })
    }

    @Test func corruptNewestFallsBackToOlder() throws {
        let dir = TempDir("snap-corrupt")
        defer { dir.remove() }
        let store = SnapshotStore(directory: dir.path)
        let old = try store.write(lsn: 10) { sink throws(WALError) in try sink.write(testBody(10, length: 5000)) }
        let new = try store.write(lsn: 20) { sink throws(WALError) in try sink.write(testBody(20, length: 5000)) }
        #expect(store.newestValid() == new)
        for position in [3, 70, 5063] {   // header field, content, last byte
            var bytes = try readFile(new.path)
            bytes[position] ^= 0x04
            try writeFile(new.path, bytes)
            var invalid: [String] = []
            #expect(store.newestValid(invalid: { path, _ in invalid.append(path) }) == old)
            #expect(invalid == [new.path])
            bytes[position] ^= 0x04
            try writeFile(new.path, bytes)
        }
        // Truncated snapshot.
        let bytes = try readFile(new.path)
        try writeFile(new.path, Array(bytes.dropLast(1)))
        #expect(store.newestValid() == old)
        // A failed load of a corrupt snapshot throws after streaming.
        #expect(throws: WALError.self) { try store.load(new) { _ in } }
    }

    @Test func leftoverTemporaryIsIgnoredAndRemoved() throws {
        let dir = TempDir("snap-tmp")
        defer { dir.remove() }
        let store = SnapshotStore(directory: dir.path)
        try writeFile(dir.file(SnapshotInfo.fileName(lsn: 99) + ".tmp"), [1, 2, 3])
        #expect(store.newestValid() == nil)
        let removed = try store.removeObsolete()
        #expect(removed.count == 1)
    }

    @Test func obsoleteSegmentsRemovedOnlyWhenCovered() async throws {
        let dir = TempDir("snap-retention")
        defer { dir.remove() }
        _ = try await writeSequential(dir.path, count: 40, segmentSize: 8192) { _ in 900 }
        let before = try SegmentName.list(in: dir.path)
        #expect(before.count >= 4)
        let store = SnapshotStore(directory: dir.path)
        // One snapshot: it is the oldest kept, so segments it covers go.
        let covered = before[2].firstLSN - 1   // covers segments 0 and 1 entirely
        try store.write(lsn: covered) { sink throws(WALError) in try sink.write([1]) }
        try store.removeObsolete(keep: 2)
        let after = try SegmentName.list(in: dir.path)
        #expect(after == Array(before.dropFirst(2)))
        // Recovery still works from the first remaining segment; reading from covered + 1 works.
        let report = try WALRecovery.recover(directory: dir.path, mode: .readOnly)
        #expect(report.firstLSN == covered + 1 && report.lastLSN == 40)
        #expect(try readAll(dir.path, from: covered + 1).count == Int(40 - covered))
        // Newer snapshots: older snapshot files beyond `keep` are deleted, last segment never.
        try store.write(lsn: 39) { sink throws(WALError) in try sink.write([2]) }
        try store.write(lsn: 40) { sink throws(WALError) in try sink.write([3]) }
        try store.removeObsolete(keep: 2)
        #expect(try store.list().map(\.lsn) == [40, 39])
        #expect(try SegmentName.list(in: dir.path).count == 1)
    }
}
