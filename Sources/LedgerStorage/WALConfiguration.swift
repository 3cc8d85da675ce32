/// Settings of a write-ahead log directory.
package struct WALConfiguration: Sendable {
    /// How new segment files get their space.
    package enum Preallocation: String, Sendable {
        /// posix_fallocate/IORING_OP_FALLOCATE: space reserved, no data written.
        case fallocate
        /// No preallocation: the file grows with each write.
        case none
    }

    /// Directory holding segments and snapshots (created if absent).
    package var directory: String
    /// Maximum size of one segment file in bytes (default 64 MiB).
    package var segmentSize: Int
    /// How segment space is reserved (default `.fallocate`).
    package var preallocation: Preallocation
    /// With `.fallocate`: prepare each next segment ahead, written with zeros and synced by
    /// a low-priority thread (`SegmentPreparer`), so that log writes land in blocks already
    /// written (no extent conversion in each group's fdatasync) and the roll is a rename.
    /// Default true; ignored with `.none`.
    package var prepareSegments: Bool
    /// Open even when recovery finds damage (a corrupt record followed by
    /// valid ones): the log is cut at the damage. Off by default.
    package var allowDamaged: Bool

    package init(directory: String, segmentSize: Int = 64 << 20,
                 preallocation: Preallocation = .fallocate, allowDamaged: Bool = false, prepareSegments: Bool = true) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.preallocation = preallocation
        self.allowDamaged = allowDamaged
        self.prepareSegments = prepareSegments
    }

    /// Largest body one record can carry with this segment size.
    package var maxBodyLength: Int { (segmentSize - RecordHeader.size) & ~(RecordHeader.alignment - 1) }
}

/// Counters of the writer, for tests and metrics.
package struct WALStats: Sendable, Equatable {
    /// Records appended (LSNs handed out).
    package var appends: UInt64 = 0
    /// write+fdatasync chains completed (one per group commit per segment).
    package var writes: UInt64 = 0
    /// Bytes written to segments.
    package var bytesWritten: UInt64 = 0
    /// Segment files created.
    package var segmentsCreated: UInt64 = 0
    /// Of those, segments that were prepared ahead (`SegmentPreparer`) and renamed in.
    package var segmentsPrepared: UInt64 = 0
    /// Largest number of records in one write.
    package var largestGroup: UInt64 = 0
}
