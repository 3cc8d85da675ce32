#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds where the valid log ends and decides between a torn tail (cut it)
/// and damage (refuse). The rules are in docs/wal.md, "Recovery".
package enum WALRecovery {
    /// Whether recovery may change the directory.
    package enum Mode: Sendable {
        /// Report only; never writes (for `wal verify`, `inspect`, `replay`).
        case readOnly
        /// Cut a torn tail (truncate, re-preallocate, fsync) and delete later segments.
        case repair(preallocation: WALConfiguration.Preallocation, segmentSize: Int)
    }

    /// The first place where the log stops being valid.
    private struct Problem {
        let segmentIndex: Int
        let offset: Int
        let expectedLSN: UInt64
        let reason: String
        /// The next segment's name skips LSNs: files are missing, never a torn write.
        var segmentGap = false
    }

    /// Scans every segment of `directory` in order and verifies every checksum.
    /// Throws `.damaged` (naming file and offset) when a bad record is followed
    /// by records that were written after it became durable, unless `allowDamaged`.
    package static func recover(directory: String, mode: Mode, allowDamaged: Bool = false) throws(WALError) -> RecoveryReport {
        let names = try SegmentName.list(in: directory)
        var summaries: [SegmentSummary] = []
        var problem: Problem?
        var expected: UInt64 = names.first?.firstLSN ?? 1
        let firstLSN = expected

        for (index, name) in names.enumerated() {
            if index > 0 && name.firstLSN != expected {
                let prev = summaries[index - 1]
                problem = Problem(segmentIndex: index - 1, offset: prev.endOffset, expectedLSN: expected,
                                  reason: "next segment \(name.fileName) starts at LSN \(name.firstLSN), expected \(expected)",
                                  segmentGap: true)
                break
            }
            let path = FileIO.join(directory, name.fileName)
            let bytes = try MappedFile(path: path)
            var offset = 0
            var count = 0
            var last: UInt64?
            var reason: String?
            bytes.withUnsafeBytes { buf in
                while true {
                    switch validate(buf, at: offset, expected: expected) {
                    case .end:
                        return
                    case let .bad(why):
                        reason = why
                        return
                    case let .record(header):
                        last = header.lsn
                        expected += 1
                        count += 1
                        offset += header.recordLength
                    }
                }
            }
            summaries.append(SegmentSummary(name: name, records: count, lastLSN: last, endOffset: offset, fileSize: bytes.count))
            if let reason {
                problem = Problem(segmentIndex: index, offset: offset, expectedLSN: expected, reason: reason)
                break
            }
        }

        var report = RecoveryReport(segments: summaries, firstLSN: firstLSN, lastLSN: expected - 1, cut: nil, damage: nil)
        guard let problem else { return report }

        let badFile = names[problem.segmentIndex].fileName
        if let evidence = try findLaterDurableRecord(directory: directory, names: names, after: problem) {
            let error = WALError(
                .damaged,
                "corrupt log record (\(problem.reason)) followed by a valid record written after it was durable "
                    + "(LSN \(evidence.lsn) in \(evidence.file) at offset \(evidence.offset)); refusing to start",
                file: badFile, offset: UInt64(problem.offset))
            guard allowDamaged else { throw error }
            report.damage = error
        }
        let removed = names[(problem.segmentIndex + 1)...].map(\.fileName)
        report.segments = Array(summaries[...problem.segmentIndex])
        report.cut = TailCut(file: badFile, offset: problem.offset, firstMissingLSN: problem.expectedLSN,
                             reason: problem.reason, removedSegments: removed, segmentGap: problem.segmentGap)
        if case let .repair(preallocation, segmentSize) = mode {
            try repair(&report, directory: directory, preallocation: preallocation, segmentSize: segmentSize)
        }
        return report
    }

    /// Carries out the cut a read-only scan found (`report.cut`): zeroes the log from the
    /// cut on, removes the later segments, syncs; `report` then describes the log as cut.
    package static func repair(_ report: inout RecoveryReport, directory: String,
                               preallocation: WALConfiguration.Preallocation, segmentSize: Int) throws(WALError) {
        guard let cut = report.cut, let index = report.segments.lastIndex(where: { $0.name.fileName == cut.file }) else {
            return
        }
        precondition(index == report.segments.count - 1, "a cut is in the last segment that remains")
        try cutTail(directory: directory, file: cut.file, offset: cut.offset, removed: cut.removedSegments,
                    preallocation: preallocation, segmentSize: segmentSize)
        let s = report.segments[index]
        report.segments[index] = SegmentSummary(
            name: s.name, records: s.records, lastLSN: s.lastLSN, endOffset: s.endOffset,
            fileSize: preallocation == .fallocate ? max(segmentSize, s.endOffset) : s.endOffset)
    }

    /// Outcome of checking the bytes at one offset of a segment.
    enum Validation {
        case record(RecordHeader)
        case end
        case bad(String)
    }

    /// Checks the record at `offset`: `.end` when everything from there to the
    /// end of the file is zero (clean end of the written part).
    static func validate(_ buf: UnsafeRawBufferPointer, at offset: Int, expected: UInt64?) -> Validation {
        guard let base = buf.baseAddress, offset + RecordHeader.size <= buf.count else {
            return FileIO.allZero(buf, from: offset) ? .end : .bad("partial record header at end of file")
        }
        guard let header = RecordHeader.decode(base + offset) else {
            if FileIO.allZero(buf, from: offset) { return .end }
            return .bad("bad record header (magic, version or header checksum)")
        }
        if let expected, header.lsn != expected { return .bad("LSN \(header.lsn), expected \(expected)") }
        let length = header.recordLength
        guard length <= buf.count - offset else { return .bad("record of \(length) bytes runs past end of file") }
        let padded = RecordHeader.paddedLength(Int(header.bodyLength))
        let body = UnsafeRawBufferPointer(start: base + offset + RecordHeader.size, count: padded)
        guard CRC32C.checksum(body) == header.bodyChecksum else { return .bad("body checksum mismatch") }
        return .record(header)
    }

    /// A valid record after a bad spot that proves the bad record had been durable.
    private struct Evidence {
        let file: String
        let offset: Int
        let lsn: UInt64
    }

    /// Looks past a bad spot for a valid record whose durable watermark shows
    /// that the bad record had been durable before it was written.
    private static func findLaterDurableRecord(directory: String, names: [SegmentName], after problem: Problem) throws(WALError) -> Evidence? {
        for index in problem.segmentIndex..<names.count {
            let file = names[index].fileName
            let bytes = try MappedFile(path: FileIO.join(directory, file))
            let start = index == problem.segmentIndex ? problem.offset + RecordHeader.alignment : 0
            let found: Evidence? = bytes.withUnsafeBytes { buf in
                guard let base = buf.baseAddress else { return nil }
                var at = start
                while at + RecordHeader.size <= buf.count {
                    defer { at += RecordHeader.alignment }
                    guard RecordHeader.load(base + at, RecordHeader.offMagic, as: UInt32.self) == RecordHeader.magic,
                          case let .record(h) = validate(buf, at: at, expected: nil),
                          h.lsn >= problem.expectedLSN, h.durableWatermark >= problem.expectedLSN
                    else { continue }
                    return Evidence(file: file, offset: at, lsn: h.lsn)
                }
                return nil
            }
            if let found { return found }
        }
        return nil
    }

    /// Zeroes the log from `offset` on (truncate, then re-preallocate), removes
    /// later segments, and syncs file and directory.
    private static func cutTail(directory: String, file: String, offset: Int, removed: [String],
                                preallocation: WALConfiguration.Preallocation, segmentSize: Int) throws(WALError) {
        // Later segments go first: a crash between the two steps must not leave a segment
        // whose name skips LSNs (a start would take that for a missing file).
        if !removed.isEmpty {
            for name in removed.reversed() { try FileIO.unlink(FileIO.join(directory, name)) }
            try FileIO.fsyncDirectory(directory)
        }
        let path = FileIO.join(directory, file)
        let fd = try FileIO.open(path, O_RDWR)
        defer { FileIO.close(fd) }
        try FileIO.truncate(fd, to: offset, path: path)
        if preallocation == .fallocate { try FileIO.preallocate(fd, size: max(segmentSize, offset), path: path) }
        try FileIO.fsync(fd, path: path)
        try FileIO.fsyncDirectory(directory)
    }
}
