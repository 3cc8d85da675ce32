import LedgerStorage
package import NIOCore

/// The 32-byte frame header (little-endian; docs/replication.md, "Frame header").
package struct ReplicationFrameHeader: Sendable, Equatable {
    /// "KREP" read as a little-endian UInt32.
    package static let magic: UInt32 = 0x5045_524B
    /// The protocol version this code speaks.
    package static let currentVersion: UInt16 = 1

    /// Byte offsets of the fields.
    package enum Offset {
        package static let magic = 0, version = 4, type = 6, reserved1 = 7, epoch = 8
        package static let bodySize = 16, bodyChecksum = 20, reserved2 = 24, headerChecksum = 28
    }

    /// The raw type byte; known once the header is validated.
    package var type: UInt8
    package var epoch: UInt64
    package var bodySize: UInt32
    package var bodyChecksum: UInt32

    /// The outcome of scanning the start of a stream for a header.
    package enum Scan: Sendable, Equatable {
        /// Fewer bytes than a header, and nothing wrong so far.
        case needMore
        /// A whole header that passed every check: magic, version, checksum, reserved
        /// bytes, known type, body size within the limit.
        case header(ReplicationFrameHeader, ReplicationMessageType)
    }

    /// Reads and checks a header at the start of `bytes`. Magic and version are checked as
    /// soon as their bytes arrive, so garbage is refused early; everything else once the
    /// 32 bytes are there, before any of the body is needed.
    package static func scan(_ bytes: UnsafeRawBufferPointer) throws(ReplicationWireError) -> Scan {
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        if bytes.count >= 4 {
            let magic = load(Offset.magic, UInt32.self)
            guard magic == Self.magic else {
                throw ReplicationWireError(
                    .badMagic, "bad magic 0x\(String(magic, radix: 16)); expected bytes 4B 52 45 50 (KREP)")
            }
        }
        if bytes.count >= 6 {
            let version = load(Offset.version, UInt16.self)
            guard version == currentVersion else {
                throw ReplicationWireError(
                    .unsupportedVersion, "version \(version) is not supported; this node speaks \(currentVersion)")
            }
        }
        guard bytes.count >= ReplicationWireLimits.headerSize else { return .needMore }
        let stored = load(Offset.headerChecksum, UInt32.self)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<Offset.headerChecksum]))
        guard stored == computed else {
            throw ReplicationWireError(
                .badHeaderChecksum,
                "header checksum 0x\(String(stored, radix: 16)) != computed 0x\(String(computed, radix: 16))")
        }
        let header = ReplicationFrameHeader(
            type: load(Offset.type, UInt8.self), epoch: load(Offset.epoch, UInt64.self),
            bodySize: load(Offset.bodySize, UInt32.self), bodyChecksum: load(Offset.bodyChecksum, UInt32.self))
        guard load(Offset.reserved1, UInt8.self) == 0, load(Offset.reserved2, UInt32.self) == 0 else {
            throw ReplicationWireError(.invalidHeader, "reserved header bytes 7 and 24..<28 must be zero")
        }
        guard let type = ReplicationMessageType(rawValue: header.type) else {
            throw ReplicationWireError(.unknownType, "unknown message type \(header.type)")
        }
        guard Int(header.bodySize) <= ReplicationWireLimits.maxBodySize else {
            throw ReplicationWireError(
                .frameTooLarge, "body_size \(header.bodySize) exceeds \(ReplicationWireLimits.maxBodySize)")
        }
        return .header(header, type)
    }

    /// Writes the 32 header bytes, header checksum included, at `index` of `buffer`
    /// (which must already hold them).
    package func write(at index: Int, in buffer: inout ByteBuffer) {
        precondition(buffer.writerIndex >= index + ReplicationWireLimits.headerSize, "header space not reserved")
        buffer.setInteger(Self.magic, at: index + Offset.magic, endianness: .little)
        buffer.setInteger(Self.currentVersion, at: index + Offset.version, endianness: .little)
        buffer.setInteger(type, at: index + Offset.type, endianness: .little)
        buffer.setInteger(UInt8(0), at: index + Offset.reserved1, endianness: .little)
        buffer.setInteger(epoch, at: index + Offset.epoch, endianness: .little)
        buffer.setInteger(bodySize, at: index + Offset.bodySize, endianness: .little)
        buffer.setInteger(bodyChecksum, at: index + Offset.bodyChecksum, endianness: .little)
        buffer.setInteger(UInt32(0), at: index + Offset.reserved2, endianness: .little)
        guard let covered = buffer.getSlice(at: index, length: Offset.headerChecksum) else {
            preconditionFailure("the header bytes were just written")
        }
        let checksum = covered.withUnsafeReadableBytes { CRC32C.checksum($0) }
        buffer.setInteger(checksum, at: index + Offset.headerChecksum, endianness: .little)
    }
}
