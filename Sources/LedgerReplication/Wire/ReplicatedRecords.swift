package import LedgerStorage
package import NIOCore

extension ReplicationMessage {
    /// `records` (type 3), primary to follower: `count` consecutive log records, LSNs
    /// `firstLSN...lastLSN`, in the exact bytes of the log (docs/wal.md: a 64-byte
    /// `RecordHeader`, the body, zero padding to 8 bytes).
    ///
    /// A value always holds checked records: decoding a frame and
    /// `init(validating:firstLSN:lastLSN:count:)` check every header, body checksum,
    /// zero padding and LSN, so a record's `bodyChecksum` is the checksum of its body
    /// followed by zeros (`RecordHeader.bodyChecksum`); `init(ownLog:...)`, for the bytes
    /// this process's log writer made in memory, checks all but the bodies. The records
    /// stay one `ByteBuffer` (no per-record copy); iterate to get each header and body slice.
    package struct Records: Sendable, Hashable, Sequence {
        /// Bytes of the body before the records: first_lsn u64, last_lsn u64, count u32, reserved u32.
        package static let prefixSize = 24
        /// Most record bytes one frame can carry.
        package static let maxRecordBytes = ReplicationWireLimits.maxBodySize - prefixSize

        package let firstLSN: UInt64
        package let lastLSN: UInt64
        package let count: Int
        /// The records back to back, exactly filling these bytes.
        package let bytes: ByteBuffer

        /// Checks raw log records (consecutive records as read from a log) and wraps them
        /// without copying, for a `records` frame. Throws `badRecord` when a header does not
        /// decode, a body checksum does not match, a body's padding is not zero, the LSNs
        /// are not `firstLSN...lastLSN`, the count is not `count`, or the records do not
        /// exactly fill `bytes`; throws `frameTooLarge` when they do not fit one frame.
        package init(validating bytes: ByteBuffer, firstLSN: UInt64, lastLSN: UInt64, count: Int)
            throws(ReplicationWireError)
        {
            guard bytes.readableBytes <= Self.maxRecordBytes else {
                throw ReplicationWireError(
                    .frameTooLarge, "\(bytes.readableBytes) bytes of records; a frame carries at most \(Self.maxRecordBytes)")
            }
            try Self.check(bytes, firstLSN: firstLSN, lastLSN: lastLSN, count: count)
            self.firstLSN = firstLSN
            self.lastLSN = lastLSN
            self.count = count
            self.bytes = bytes
        }

        /// Wraps records this process's own log writer produced in memory (`RecordTail`),
        /// checking everything `init(validating:firstLSN:lastLSN:count:)` checks except
        /// the body checksums and padding: the writer computed each checksum from these
        /// very bytes, and the follower checks them again on receipt, so a second pass here
        /// would only spend the primary's CPU on its answer path. Records read back from
        /// the segments must use `init(validating:...)` (the disk may have damaged them).
        package init(ownLog bytes: ByteBuffer, firstLSN: UInt64, lastLSN: UInt64, count: Int)
            throws(ReplicationWireError)
        {
            guard bytes.readableBytes <= Self.maxRecordBytes else {
                throw ReplicationWireError(
                    .frameTooLarge, "\(bytes.readableBytes) bytes of records; a frame carries at most \(Self.maxRecordBytes)")
            }
            try Self.check(bytes, firstLSN: firstLSN, lastLSN: lastLSN, count: count, bodies: false)
            self.firstLSN = firstLSN
            self.lastLSN = lastLSN
            self.count = count
            self.bytes = bytes
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            let first = try body.integer("first_lsn", as: UInt64.self)
            let last = try body.integer("last_lsn", as: UInt64.self)
            let count = try body.integer("count", as: UInt32.self)
            try body.zeros("reserved", count: 4)
            try self.init(validating: body.rest(), firstLSN: first, lastLSN: last, count: Int(count))
        }

        func encode(into out: inout ByteBuffer) {
            out.writeLE(firstLSN)
            out.writeLE(lastLSN)
            out.writeLE(UInt32(count))
            out.writeLE(UInt32(0))
            out.writeImmutableBuffer(bytes)
        }

        /// Walks the records of `bytes`; see `init(validating:firstLSN:lastLSN:count:)`.
        /// `bodies`: check each body's checksum and zero padding too (false only for
        /// `init(ownLog:...)`).
        private static func check(_ bytes: ByteBuffer, firstLSN: UInt64, lastLSN: UInt64, count: Int,
                                  bodies: Bool = true)
            throws(ReplicationWireError)
        {
            func bad(_ text: String) -> ReplicationWireError { ReplicationWireError(.badRecord, text) }
            guard count >= 1, count <= UInt32.max else { throw bad("count \(count); a frame carries 1 to \(UInt32.max) records") }
            guard firstLSN >= 1, lastLSN >= firstLSN, lastLSN - firstLSN == UInt64(count - 1) else {
                throw bad("first_lsn \(firstLSN), last_lsn \(lastLSN) and count \(count) do not agree")
            }
            let failure: ReplicationWireError? = bytes.withUnsafeReadableBytes { all in
                var offset = 0
                var expected = firstLSN
                var seen = 0
                while offset < all.count {
                    guard all.count - offset >= RecordHeader.size else {
                        return bad("\(all.count - offset) bytes after record \(seen) are too few for a record header")
                    }
                    guard let base = all.baseAddress, let header = RecordHeader.decode(base + offset) else {
                        return bad("record \(seen) at byte \(offset): bad header (magic, version, flags or header checksum)")
                    }
                    guard seen < count else { return bad("more than count \(count) records") }
                    guard header.lsn == expected else {
                        return bad("record \(seen) at byte \(offset) has LSN \(header.lsn); expected \(expected)")
                    }
                    let length = header.recordLength
                    guard all.count - offset >= length else {
                        return bad("record \(seen) (LSN \(header.lsn)) needs \(length) bytes; \(all.count - offset) left")
                    }
                    if bodies {
                        let padded = UnsafeRawBufferPointer(
                            rebasing: all[(offset + RecordHeader.size)..<(offset + length)])
                        guard CRC32C.checksum(padded) == header.bodyChecksum else {
                            return bad("record \(seen) (LSN \(header.lsn)): body checksum mismatch")
                        }
                        // The checksum covers the padding as zeros: a follower logs the body
                        // with that checksum and pads it with zeros itself.
                        let bodyEnd = offset + RecordHeader.size + Int(header.bodyLength)
                        guard all[bodyEnd..<(offset + length)].allSatisfy({ $0 == 0 }) else {
                            return bad("record \(seen) (LSN \(header.lsn)): padding after the body is not zero")
                        }
                    }
                    offset += length
                    expected &+= 1
                    seen += 1
                }
                guard seen == count else { return bad("\(seen) records; count says \(count)") }
                return nil
            }
            if let failure { throw failure }
        }

        /// Yields each record's header and body (without padding, a slice of `bytes`).
        package struct Iterator: IteratorProtocol {
            private let bytes: ByteBuffer
            private var offset = 0

            init(_ bytes: ByteBuffer) {
                self.bytes = bytes
            }

            package mutating func next() -> (header: RecordHeader, body: ByteBuffer)? {
                guard offset < bytes.readableBytes else { return nil }
                let start = offset
                let header = bytes.withUnsafeReadableBytes { all in
                    all.baseAddress.flatMap { RecordHeader.decode($0 + start) }
                }
                // Records are checked when the value is made.
                guard let header,
                    let body = bytes.getSlice(
                        at: bytes.readerIndex + start + RecordHeader.size, length: Int(header.bodyLength))
                else { preconditionFailure("records were validated, yet record at byte \(start) does not decode") }
                offset += header.recordLength
                return (header, body)
            }
        }

        package func makeIterator() -> Iterator { Iterator(bytes) }

        package var underestimatedCount: Int { count }
    }
}
