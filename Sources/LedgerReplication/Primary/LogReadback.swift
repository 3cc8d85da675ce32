package import LedgerStorage
package import NIOCore

/// Reads records back from the primary's segments, for a follower that is behind what
/// memory holds, and encodes them as the log holds them (header with the record's epoch,
/// body, padding; the watermark, a local field, is 0).
package enum LogReadback {
    /// Up to `limit` bytes of whole records from `from` through `through` (at least one
    /// record when `from <= through`). Blocking: call from a dedicated thread.
    /// - Throws: `missingRecords`/`corrupt` when a segment no longer holds `from` (removed
    ///   after a snapshot): the follower then needs the snapshot.
    package static func read(directory: String, from: UInt64, through: UInt64, limit: Int)
        throws(WALError) -> (bytes: ByteBuffer, lastLSN: UInt64, count: Int)
    {
        precondition(from <= through, "an empty range has nothing to read")
        var iterator = try WALReader(directory: directory).records(from: from, through: through)
        var out = ByteBufferAllocator().buffer(capacity: min(limit, 1 << 20))
        var expected = from
        var count = 0
        while let record = try iterator.next() {
            guard record.lsn == expected else {
                throw WALError(.missingRecords, "the log holds LSN \(record.lsn) where \(expected) belongs", file: directory)
            }
            let length = RecordHeader.size + RecordHeader.paddedLength(record.body.count)
            if count > 0 && out.readableBytes + length > limit { break }
            encode(record, into: &out)
            count += 1
            expected += 1
            if record.lsn == through { break }
        }
        guard count > 0 else {
            throw WALError(.missingRecords, "the log no longer holds LSN \(from)", file: directory)
        }
        return (out, expected - 1, count)
    }

    /// Appends `record` in the log's encoding.
    static func encode(_ record: LogRecord, into out: inout ByteBuffer) {
        let checksum = record.body.withUnsafeBytes { RecordHeader.bodyChecksum($0) }
        let header = RecordHeader(operation: record.operation, lsn: record.lsn, timestamp: record.timestamp,
                                  durableWatermark: 0, eventCount: record.eventCount,
                                  bodyLength: UInt32(record.body.count), bodyChecksum: checksum, epoch: record.epoch)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: RecordHeader.size) { p in
            guard let base = p.baseAddress else { return 0 }
            header.encode(to: base)
            return RecordHeader.size
        }
        out.writeBytes(record.body)
        let pad = RecordHeader.paddedLength(record.body.count) - record.body.count
        if pad > 0 { out.writeRepeatingByte(0, count: pad) }
    }
}
