import LedgerReplication
import LedgerStorage
import NIOCore
import Testing

/// The records kept in memory for followers: whole records from any LSN, bounded size,
/// and the hand-off to the segments for what memory no longer holds.
@Suite struct RecordTailTests {
    /// Encoded records `first...last`, each with a body of `size` bytes.
    private func records(_ first: UInt64, _ last: UInt64, size: Int = 24) -> [UInt8] {
        var out: [UInt8] = []
        for lsn in first...last {
            let body = [UInt8](repeating: UInt8(truncatingIfNeeded: lsn), count: size)
            let crc = body.withUnsafeBytes { RecordHeader.bodyChecksum($0) }
            let header = RecordHeader(operation: 147, lsn: lsn, timestamp: lsn, durableWatermark: 0, eventCount: 0,
                                      bodyLength: UInt32(size), bodyChecksum: crc, epoch: 1)
            var h = [UInt8](repeating: 0, count: RecordHeader.size)
            h.withUnsafeMutableBytes { if let p = $0.baseAddress { header.encode(to: p) } }
            out += h + body + [UInt8](repeating: 0, count: RecordHeader.paddedLength(size) - size)
        }
        return out
    }

    private func ship(_ tail: RecordTail, _ first: UInt64, _ last: UInt64, size: Int = 24) {
        let bytes = records(first, last, size: size)
        bytes.withUnsafeBytes { tail.ship($0, firstLSN: first, lastLSN: last, count: Int(last - first + 1)) }
    }

    @Test func readsWholeRecordsFromAnyLSN() {
        let tail = RecordTail(lastLSN: 0)
        ship(tail, 1, 5)
        ship(tail, 6, 9)
        guard case .records(let bytes, let first, let last, let count) = tail.read(from: 4, limit: 1 << 20) else {
            Issue.record("records 4...9 are in memory")
            return
        }
        #expect((first, last, count) == (4, 9, 6))
        #expect(Array(bytes.readableBytesView) == records(4, 9))
        if case .upToDate = tail.read(from: 10, limit: 1 << 20) {} else { Issue.record("nothing after 9") }
    }

    /// A follower at the start of a write that fills a frame alone gets that write's own
    /// bytes (no copy); consecutive writes that fit one frame together are still merged.
    @Test func aWholeWriteIsHandedOutWithoutACopy() {
        let tail = RecordTail(lastLSN: 0)
        ship(tail, 1, 3)
        ship(tail, 4, 6)
        let write = records(4, 6).count
        func base(_ read: RecordTail.Read) -> UnsafeRawPointer? {
            guard case .records(let bytes, _, _, _) = read else { return nil }
            return bytes.withUnsafeReadableBytes { $0.baseAddress }
        }
        guard case .records(let bytes, let first, let last, let count) = tail.read(from: 4, limit: write) else {
            Issue.record("records 4...6 are in memory")
            return
        }
        #expect((first, last, count) == (4, 6, 3))
        #expect(Array(bytes.readableBytesView) == records(4, 6))
        // Two reads share the chunk's storage.
        #expect(base(tail.read(from: 4, limit: write)) != nil)
        #expect(base(tail.read(from: 4, limit: write)) == base(tail.read(from: 4, limit: write)))
        // The first write, with room for the second too: both in one frame.
        guard case .records(let both, 1, 6, 6) = tail.read(from: 1, limit: 1 << 20) else {
            Issue.record("records 1...6 fit one frame")
            return
        }
        #expect(Array(both.readableBytesView) == records(1, 6))
    }

    @Test func aLimitSplitsAtRecordBoundaries() {
        let tail = RecordTail(lastLSN: 0)
        ship(tail, 1, 10)
        let one = RecordHeader.size + 24
        guard case .records(_, let first, let last, let count) = tail.read(from: 2, limit: one * 3) else {
            Issue.record("records are in memory")
            return
        }
        #expect((first, last, count) == (2, 4, 3))
        // A record larger than the limit still goes alone.
        guard case .records(_, _, let lastAlone, let alone) = tail.read(from: 2, limit: 1) else {
            Issue.record("records are in memory")
            return
        }
        #expect((lastAlone, alone) == (2, 1))
    }

    @Test func evictedRecordsAreReadFromDisk() {
        let tail = RecordTail(lastLSN: 0, capacity: 300)
        ship(tail, 1, 3)
        ship(tail, 4, 6)
        ship(tail, 7, 9)
        guard case .onDisk(let oldest) = tail.read(from: 1, limit: 1 << 20) else {
            Issue.record("records 1...3 were evicted")
            return
        }
        #expect(oldest > 1 && oldest <= 7)
        if case .records(_, let first, _, _) = tail.read(from: 7, limit: 1 << 20) { #expect(first == 7) } else {
            Issue.record("the newest write stays in memory")
        }
    }

    @Test func shippingStartedMidWayLeavesTheGapToTheDisk() {
        // Shipping began while the write of 1...4 was in flight: memory starts at 5.
        let tail = RecordTail(lastLSN: 2)
        ship(tail, 5, 6)
        guard case .onDisk(let oldest) = tail.read(from: 3, limit: 1 << 20) else {
            Issue.record("3 and 4 were never shipped")
            return
        }
        #expect(oldest == 5)
    }
}
