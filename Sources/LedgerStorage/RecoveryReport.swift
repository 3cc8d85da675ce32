/// What recovery found in one segment file.
package struct SegmentSummary: Sendable, Equatable {
    package let name: SegmentName
    /// Number of valid records.
    package let records: Int
    /// LSN of the last valid record, nil when the segment is empty.
    package let lastLSN: UInt64?
    /// Byte offset where the valid records end (where the next record goes).
    package let endOffset: Int
    /// Size of the file in bytes.
    package let fileSize: Int
}

/// A torn or corrupt tail that recovery cut off (or, read-only, would cut off).
package struct TailCut: Sendable, Equatable {
    /// Segment file (name) where the valid log ends.
    package let file: String
    /// Byte offset in `file` where the cut starts.
    package let offset: Int
    /// First LSN that is not in the log any more.
    package let firstMissingLSN: UInt64
    /// Why the record at `offset` was rejected.
    package let reason: String
    /// Later segment files removed because they held nothing durable.
    package let removedSegments: [String]
    /// True when the log ends because the next segment file's name skips LSNs: files are
    /// missing, which no crash causes (`DirectoryCheck` refuses it).
    package var segmentGap: Bool = false

    package init(file: String, offset: Int, firstMissingLSN: UInt64, reason: String, removedSegments: [String],
                 segmentGap: Bool = false) {
        self.file = file
        self.offset = offset
        self.firstMissingLSN = firstMissingLSN
        self.reason = reason
        self.removedSegments = removedSegments
        self.segmentGap = segmentGap
    }
}

/// The outcome of scanning a log directory.
package struct RecoveryReport: Sendable, Equatable {
    /// Segments that remain, in LSN order.
    package var segments: [SegmentSummary]
    /// LSN of the first record the log holds (first segment's name), 1 if empty.
    package var firstLSN: UInt64
    /// LSN of the last valid record; `firstLSN - 1` when there is none.
    package var lastLSN: UInt64
    /// The tail that was cut, if any.
    package var cut: TailCut?
    /// Set only with `allowDamaged`: the damage that was found and cut.
    package var damage: WALError?

    /// Number of valid records.
    package var recordCount: Int { segments.reduce(0) { $0 + $1.records } }
}
