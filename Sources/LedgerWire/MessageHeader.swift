package import NIOCore

/// The fixed 48-byte little-endian header in front of every message.
///
/// | offset | size | field           |
/// |-------:|-----:|-----------------|
/// |      0 |    4 | magic `KMNO`    |
/// |      4 |    2 | version (1)     |
/// |      6 |    1 | operation       |
/// |      7 |    1 | kind            |
/// |      8 |    8 | request_id      |
/// |     16 |    4 | body_size       |
/// |     20 |    4 | event_count     |
/// |     24 |    2 | error_code      |
/// |     26 |    6 | reserved (zero) |
/// |     32 |    8 | state_lsn       |
/// |     40 |    4 | body_checksum   |
/// |     44 |    4 | header_checksum |
///
/// `header_checksum` is the CRC32C of bytes 0..<44; `body_checksum` the CRC32C of the body.
/// `state_lsn` is set in replies only (the LSN of the state the reply reflects); it is
/// zero in requests and error replies, whose bytes 26..<40 are all reserved.
package struct MessageHeader: Sendable, Hashable {
    /// The magic bytes `KMNO` read as a little-endian u32.
    package static let magic: UInt32 = 0x4F4E_4D4B
    /// The protocol version this code speaks.
    package static let currentVersion: UInt16 = 1
    /// Header size in bytes.
    package static let size = WireLimits.headerSize

    /// Field offsets inside the header.
    package enum Offset {
        package static let magic = 0
        package static let version = 4
        package static let operation = 6
        package static let kind = 7
        package static let requestId = 8
        package static let bodySize = 16
        package static let eventCount = 20
        package static let errorCode = 24
        package static let reserved = 26
        /// Bytes 26..<32: zero in every message.
        package static let reservedSize = 6
        /// Bytes 32..<40: `state_lsn` in replies, zero (reserved) in the other kinds.
        package static let stateLSN = 32
        package static let bodyChecksum = 40
        package static let headerChecksum = 44
    }

    package var version: UInt16
    /// The operation code (an `Operation` raw value; 0 in error replies to unreadable frames).
    package var operation: UInt8
    package var kind: MessageKind
    /// Chosen by the client, echoed by the server.
    package var requestId: UInt64
    /// Bytes after the header.
    package var bodySize: UInt32
    /// Records in the body (0 for error replies).
    package var eventCount: UInt32
    /// A `WireError.Code` raw value in error replies, 0 otherwise.
    package var errorCode: UInt16
    /// CRC32C of the body.
    package var bodyChecksum: UInt32
    /// Replies only: the LSN of the ledger state the reply reflects (the batch's LSN for
    /// creates, the state read for lookups and queries); 0 in requests and error replies.
    package var stateLSN: UInt64

    package init(
        version: UInt16 = MessageHeader.currentVersion, operation: UInt8, kind: MessageKind,
        requestId: UInt64, bodySize: UInt32, eventCount: UInt32, errorCode: UInt16 = 0,
        bodyChecksum: UInt32, stateLSN: UInt64 = 0
    ) {
        precondition(stateLSN == 0 || kind == .reply, "only replies carry a state_lsn")
        self.version = version
        self.operation = operation
        self.kind = kind
        self.requestId = requestId
        self.bodySize = bodySize
        self.eventCount = eventCount
        self.errorCode = errorCode
        self.bodyChecksum = bodyChecksum
        self.stateLSN = stateLSN
    }

    /// Writes the 48 header bytes, header checksum included, at absolute index `index`
    /// (which must already be writable or be the writer index).
    ///
    /// No heap allocation: the bytes are composed in a stack buffer.
    package func write(to buffer: inout ByteBuffer, at index: Int) {
        // Composed on the stack and copied in with one `setBytes`: ten `setInteger` calls
        // each paid ByteBuffer's uniqueness and exclusivity checks (about 1,500
        // instructions per message, measured with callgrind).
        withUnsafeTemporaryAllocation(byteCount: Self.size, alignment: 8) { header in
            header.storeBytes(of: Self.magic.littleEndian, toByteOffset: Offset.magic, as: UInt32.self)
            header.storeBytes(of: version.littleEndian, toByteOffset: Offset.version, as: UInt16.self)
            header.storeBytes(of: operation, toByteOffset: Offset.operation, as: UInt8.self)
            header.storeBytes(of: kind.rawValue, toByteOffset: Offset.kind, as: UInt8.self)
            header.storeBytes(of: requestId.littleEndian, toByteOffset: Offset.requestId, as: UInt64.self)
            header.storeBytes(of: bodySize.littleEndian, toByteOffset: Offset.bodySize, as: UInt32.self)
            header.storeBytes(of: eventCount.littleEndian, toByteOffset: Offset.eventCount, as: UInt32.self)
            header.storeBytes(of: errorCode.littleEndian, toByteOffset: Offset.errorCode, as: UInt16.self)
            for i in Offset.reserved..<Offset.reserved + Offset.reservedSize {
                header.storeBytes(of: 0, toByteOffset: i, as: UInt8.self)
            }
            header.storeBytes(of: stateLSN.littleEndian, toByteOffset: Offset.stateLSN, as: UInt64.self)
            header.storeBytes(of: bodyChecksum.littleEndian, toByteOffset: Offset.bodyChecksum, as: UInt32.self)
            assert(Offset.headerChecksum + 4 == Self.size, "the header checksum is the header's last field")
            let crc = WireChecksum.crc32c(UnsafeRawBufferPointer(rebasing: header[..<Offset.headerChecksum]))
            header.storeBytes(of: crc.littleEndian, toByteOffset: Offset.headerChecksum, as: UInt32.self)
            buffer.setBytes(UnsafeRawBufferPointer(header), at: index)
        }
    }
}
