package import LedgerStorage

/// The check where a follower's log joins its primary's stream. Epoch histories alone
/// find where two logs part only while every epoch had one primary; two nodes promoted by
/// hand that never heard of each other both pick the same epoch, and every directory
/// written without replication is in epoch 0. So with a stream plan the primary also sends
/// the fingerprint of its record at the follower's last LSN (`welcome`: `truncate_to` is
/// that LSN, `snapshot_lsn` the fingerprint; docs/replication.md), and the follower
/// streams only when its own record there has the same fingerprint; otherwise it refuses
/// with `diverged` and streams nothing.
package enum JoinCheck {
    /// A record's identity, without the node's own field (the durable watermark): the
    /// CRC32C of its LSN, epoch, timestamp, operation, event count and body length in the
    /// high 32 bits, its body checksum (body and padding, as its header has it) in the low.
    package static func fingerprint(_ record: LogRecord) -> UInt64 {
        var fields: [UInt8] = []
        fields.reserveCapacity(37)
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { fields.append(contentsOf: $0) }
        }
        put(record.lsn)
        put(record.epoch)
        put(record.timestamp)
        put(record.operation)
        put(record.eventCount)
        put(UInt64(record.body.count))
        let body = record.body.withUnsafeBytes { RecordHeader.bodyChecksum($0) }
        return UInt64(CRC32C.checksum(fields)) << 32 | UInt64(body)
    }

    /// The fingerprint of the record at `lsn` in `directory`'s log, nil when the log does
    /// not hold it (removed after a snapshot, or `lsn` is a snapshot's). Reads durable
    /// records only: call it for an LSN at or below the log's durable LSN, from a
    /// dedicated thread.
    package static func fingerprint(directory: String, lsn: UInt64) -> UInt64? {
        guard lsn >= 1 else { return nil }
        do {
            var records = try WALReader(directory: directory).records(from: lsn, through: lsn)
            guard let record = try records.next(), record.lsn == lsn else { return nil }
            return fingerprint(record)
        } catch {
            return nil
        }
    }
}
