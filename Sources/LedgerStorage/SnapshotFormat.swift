/// The 64-byte header of a snapshot file (little-endian); see docs/wal.md.
package struct SnapshotHeader: Sendable, Equatable {
    /// Header size in bytes; the content starts right after it.
    package static let size = 64
    /// "KSNP" read as a little-endian UInt32.
    package static let magic: UInt32 = 0x504E_534B
    /// Format version written by this code.
    package static let formatVersion: UInt16 = 1

    /// The state covers every record with LSN <= `lsn`.
    package var lsn: UInt64
    /// Number of content bytes after the header.
    package var contentLength: UInt64
    /// CRC32C of the content bytes.
    package var contentChecksum: UInt32

    package init(lsn: UInt64, contentLength: UInt64, contentChecksum: UInt32) {
        self.lsn = lsn
        self.contentLength = contentLength
        self.contentChecksum = contentChecksum
    }

    func encode(to p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        p.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: Self.formatVersion.littleEndian, toByteOffset: 4, as: UInt16.self)
        p.storeBytes(of: lsn.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: contentLength.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: contentChecksum.littleEndian, toByteOffset: 24, as: UInt32.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60))
        p.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
    }

    static func decode(_ p: UnsafeRawPointer) -> SnapshotHeader? {
        guard RecordHeader.load(p, 0, as: UInt32.self) == magic,
              RecordHeader.load(p, 4, as: UInt16.self) == formatVersion,
              CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60)) == RecordHeader.load(p, 60, as: UInt32.self)
        else { return nil }
        return SnapshotHeader(lsn: RecordHeader.load(p, 8, as: UInt64.self),
                              contentLength: RecordHeader.load(p, 16, as: UInt64.self),
                              contentChecksum: RecordHeader.load(p, 24, as: UInt32.self))
    }
}

/// A snapshot file found in the data directory.
package struct SnapshotInfo: Sendable, Equatable {
    /// LSN the state covers.
    package let lsn: UInt64
    /// Full path of the file.
    package let path: String
    /// Number of content bytes.
    package let contentLength: UInt64

    package init(lsn: UInt64, path: String, contentLength: UInt64) {
        self.lsn = lsn
        self.path = path
        self.contentLength = contentLength
    }

    /// File name for a snapshot at `lsn`: `snapshot-<LSN, 20 digits>.snap`.
    package static func fileName(lsn: UInt64) -> String { "snapshot-" + padded(lsn) + ".snap" }

    /// Parses a snapshot file name to its LSN.
    static func lsn(fileName: String) -> UInt64? {
        guard fileName.hasPrefix("snapshot-"), fileName.hasSuffix(".snap") else { return nil }
        let digits = fileName.dropFirst(9).dropLast(5)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }
}
