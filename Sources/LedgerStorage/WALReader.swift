/// Reads records back from a log directory in LSN order, verifying checksums.
///
/// Use it after recovery (or on a live log, up to the durable LSN): a record
/// in the requested range that is missing or fails its checksum is an error.
package struct WALReader: Sendable {
    /// The log directory.
    package let directory: String

    package init(directory: String) { self.directory = directory }

    /// An iterator over records with `from <= lsn <= through` (`through` nil:
    /// up to the end of the valid log).
    package func records(from: UInt64, through: UInt64? = nil) throws(WALError) -> WALRecordIterator {
        try WALRecordIterator(directory: directory, from: from, through: through)
    }
}

/// Iterator returned by `WALReader.records`; `next()` throws on a bad record.
package struct WALRecordIterator {
    private let directory: String
    private let through: UInt64?
    private var nextLSN: UInt64
    private var segment = MappedFile()
    private var segmentFile = ""
    private var segmentFirstLSN: UInt64 = 0
    private var offset = 0
    private var loaded = false

    init(directory: String, from: UInt64, through: UInt64?) throws(WALError) {
        self.directory = directory
        self.through = through
        self.nextLSN = max(from, 1)
    }

    /// The next record, or nil at the end of the range (or of the valid log).
    package mutating func next() throws(WALError) -> LogRecord? {
        if let through, nextLSN > through { return nil }
        while true {
            if !loaded {
                guard try load(containing: nextLSN) else { return try missing("no segment holds LSN \(nextLSN)") }
            }
            let lsn = nextLSN
            let outcome: Result<LogRecord?, WALError> = segment.withUnsafeBytes { buf in
                switch WALRecovery.validate(buf, at: offset, expected: nil) {
                case .end:
                    return .success(nil)
                case let .bad(reason):
                    return .failure(WALError(.corrupt, "bad record while reading LSN \(lsn): \(reason)",
                                             file: segmentFile, offset: UInt64(offset)))
                case let .record(h):
                    guard h.lsn == lsn else {
                        return .failure(WALError(.corrupt, "found LSN \(h.lsn) where \(lsn) belongs",
                                                 file: segmentFile, offset: UInt64(offset)))
                    }
                    let start = offset + RecordHeader.size
                    let body = Array(buf[start..<(start + Int(h.bodyLength))])
                    return .success(LogRecord(lsn: h.lsn, timestamp: h.timestamp, operation: h.operation,
                                              eventCount: h.eventCount, body: body, epoch: h.epoch))
                }
            }
            switch outcome {
            case let .failure(error):
                if through == nil, error.code == .corrupt { return nil }  // end of the valid log
                throw error
            case let .success(record?):
                offset += RecordHeader.size + RecordHeader.paddedLength(record.body.count)
                nextLSN += 1
                return record
            case .success(nil):
                // End of this segment: continue in the next one, if there is one.
                loaded = false
                let names = try SegmentName.list(in: directory)
                if segmentFirstLSN == nextLSN || !names.contains(where: { $0.firstLSN == nextLSN }) {
                    return try missing("log ends before LSN \(nextLSN)")
                }
            }
        }
    }

    private func missing(_ message: String) throws(WALError) -> LogRecord? {
        if through == nil { return nil }
        throw WALError(.missingRecords, message, file: segmentFile.isEmpty ? nil : segmentFile)
    }

    /// Loads the segment holding `lsn` and positions `offset` at that record.
    private mutating func load(containing lsn: UInt64) throws(WALError) -> Bool {
        let names = try SegmentName.list(in: directory)
        guard let name = names.last(where: { $0.firstLSN <= lsn }) else { return false }
        segmentFile = name.fileName
        segmentFirstLSN = name.firstLSN
        segment = try MappedFile(path: FileIO.join(directory, name.fileName))
        offset = 0
        loaded = true
        // Skip records before `lsn` by walking headers (bodies are checked when returned).
        var at = name.firstLSN
        let target = lsn
        let skipped: Int? = segment.withUnsafeBytes { buf in
            var off = 0
            while at < target {
                guard let base = buf.baseAddress, off + RecordHeader.size <= buf.count,
                      let h = RecordHeader.decode(base + off), h.lsn == at else { return nil }
                off += h.recordLength
                at += 1
            }
            return off
        }
        guard let skipped else {
            throw WALError(.corrupt, "cannot reach LSN \(lsn) in \(name.fileName)", file: name.fileName)
        }
        offset = skipped
        return true
    }
}
