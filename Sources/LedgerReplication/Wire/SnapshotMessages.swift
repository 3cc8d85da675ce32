package import NIOCore

extension ReplicationMessage {
    /// `snapshot_chunk` (type 5), primary to follower: bytes `offset..<offset + bytes.count`
    /// of the snapshot file of `snapshotLSN`, which is `totalSize` bytes long.
    package struct SnapshotChunk: Sendable, Hashable {
        package var snapshotLSN: UInt64
        package var offset: UInt64
        package var totalSize: UInt64
        /// At most `ReplicationWireLimits.maxSnapshotChunkBytes`; ends at or before `totalSize`.
        /// When decoded, a slice of the received frame (no copy).
        package var bytes: ByteBuffer

        package init(snapshotLSN: UInt64, offset: UInt64, totalSize: UInt64, bytes: ByteBuffer) {
            self.snapshotLSN = snapshotLSN
            self.offset = offset
            self.totalSize = totalSize
            self.bytes = bytes
        }

        /// Nil when the chunk fits the limits and its snapshot, else what is wrong.
        private var problem: String? {
            if bytes.readableBytes > ReplicationWireLimits.maxSnapshotChunkBytes {
                return "\(bytes.readableBytes) bytes; at most \(ReplicationWireLimits.maxSnapshotChunkBytes)"
            }
            let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.readableBytes))
            if overflow || end > totalSize {
                return "offset \(offset) + \(bytes.readableBytes) bytes is past total_size \(totalSize)"
            }
            return nil
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            snapshotLSN = try body.integer("snapshot_lsn")
            offset = try body.integer("offset")
            totalSize = try body.integer("total_size")
            bytes = body.rest()
            if let problem { throw body.error(problem) }
        }

        func encode(into out: inout ByteBuffer) throws(ReplicationWireError) {
            if let problem { throw ReplicationWireError(.badBody, "snapshot_chunk: \(problem)") }
            out.writeLE(snapshotLSN)
            out.writeLE(offset)
            out.writeLE(totalSize)
            out.writeImmutableBuffer(bytes)
        }
    }

    /// `snapshot_done` (type 6), primary to follower: every chunk of the snapshot was sent.
    package struct SnapshotDone: Sendable, Hashable {
        package var snapshotLSN: UInt64
        package var totalSize: UInt64

        package init(snapshotLSN: UInt64, totalSize: UInt64) {
            self.snapshotLSN = snapshotLSN
            self.totalSize = totalSize
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            snapshotLSN = try body.integer("snapshot_lsn")
            totalSize = try body.integer("total_size")
            try body.finish()
        }

        func encode(into out: inout ByteBuffer) {
            out.writeLE(snapshotLSN)
            out.writeLE(totalSize)
        }
    }
}
