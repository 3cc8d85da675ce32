/// The fixed 64-byte header in front of every log record (little-endian).
/// The layout is documented in docs/wal.md; keep the two in step.
package struct RecordHeader: Sendable, Equatable {
    /// Size of the header in bytes.
    package static let size = 64
    /// "KWAL" read as a little-endian UInt32.
    package static let magic: UInt32 = 0x4C41_574B
    /// Format version written by this code.
    package static let formatVersion: UInt16 = 1
    /// Records start at multiples of this; the body is zero-padded to it.
    package static let alignment = 8

    // Byte offsets of the fields.
    static let offMagic = 0, offVersion = 4, offOperation = 6, offFlags = 7
    static let offLSN = 8, offTimestamp = 16, offWatermark = 24
    static let offEventCount = 32, offBodyLength = 36, offBodyCRC = 40
    static let offEpoch = 44
    static let offHeaderCRC = 60

    package var operation: UInt8
    package var lsn: UInt64
    package var timestamp: UInt64
    /// Highest LSN already durable when the write carrying this record was
    /// submitted. Recovery uses it to tell a torn final write from damage.
    package var durableWatermark: UInt64
    package var eventCount: UInt32
    package var bodyLength: UInt32
    /// CRC32C of the body followed by its zero padding.
    package var bodyChecksum: UInt32
    /// The replication epoch the record was written in (docs/replication.md): only the
    /// primary of that epoch wrote an LSN in it, so two logs that hold the same LSN in the
    /// same epoch hold the same record. 0 in logs written before replication existed.
    package var epoch: UInt64

    package init(operation: UInt8, lsn: UInt64, timestamp: UInt64, durableWatermark: UInt64,
                 eventCount: UInt32, bodyLength: UInt32, bodyChecksum: UInt32, epoch: UInt64 = 0) {
        self.epoch = epoch
        self.operation = operation
        self.lsn = lsn
        self.timestamp = timestamp
        self.durableWatermark = durableWatermark
        self.eventCount = eventCount
        self.bodyLength = bodyLength
        self.bodyChecksum = bodyChecksum
    }

    /// Body length rounded up to `alignment`.
    @inline(__always)
    package static func paddedLength(_ bodyLength: Int) -> Int {
        (bodyLength + alignment - 1) & ~(alignment - 1)
    }

    /// Header plus padded body.
    package var recordLength: Int { Self.size + Self.paddedLength(Int(bodyLength)) }

    /// The length of the encoded record whose header starts at `p` (header plus padded
    /// body), read from its body-length field without checking anything.
    package static func recordLength(at p: UnsafeRawPointer) -> Int {
        size + paddedLength(Int(load(p, offBodyLength, as: UInt32.self)))
    }

    /// Writes the 64 header bytes (including the header checksum) at `p`.
    package func encode(to p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        p.storeBytes(of: Self.magic.littleEndian, toByteOffset: Self.offMagic, as: UInt32.self)
        p.storeBytes(of: Self.formatVersion.littleEndian, toByteOffset: Self.offVersion, as: UInt16.self)
        p.storeBytes(of: operation, toByteOffset: Self.offOperation, as: UInt8.self)
        p.storeBytes(of: lsn.littleEndian, toByteOffset: Self.offLSN, as: UInt64.self)
        p.storeBytes(of: timestamp.littleEndian, toByteOffset: Self.offTimestamp, as: UInt64.self)
        p.storeBytes(of: durableWatermark.littleEndian, toByteOffset: Self.offWatermark, as: UInt64.self)
        p.storeBytes(of: eventCount.littleEndian, toByteOffset: Self.offEventCount, as: UInt32.self)
        p.storeBytes(of: bodyLength.littleEndian, toByteOffset: Self.offBodyLength, as: UInt32.self)
        p.storeBytes(of: bodyChecksum.littleEndian, toByteOffset: Self.offBodyCRC, as: UInt32.self)
        p.storeBytes(of: epoch.littleEndian, toByteOffset: Self.offEpoch, as: UInt64.self)
        Self.sealHeader(at: p)
    }

    /// Rewrites the watermark of an encoded header and recomputes its checksum.
    @inline(__always)
    static func patchWatermark(_ watermark: UInt64, at p: UnsafeMutableRawPointer) {
        p.storeBytes(of: watermark.littleEndian, toByteOffset: offWatermark, as: UInt64.self)
        sealHeader(at: p)
    }

    @inline(__always)
    static func sealHeader(at p: UnsafeMutableRawPointer) {
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: offHeaderCRC))
        p.storeBytes(of: crc.littleEndian, toByteOffset: offHeaderCRC, as: UInt32.self)
    }

    /// Reads a little-endian field.
    @inline(__always)
    static func load<T: FixedWidthInteger>(_ p: UnsafeRawPointer, _ offset: Int, as: T.Type) -> T {
        T(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Decodes and checks a header: magic, version, flags and header checksum.
    /// Returns nil when any of them is wrong. The body is not checked here.
    package static func decode(_ p: UnsafeRawPointer) -> RecordHeader? {
        guard load(p, offMagic, as: UInt32.self) == magic,
              load(p, offVersion, as: UInt16.self) == formatVersion,
              load(p, offFlags, as: UInt8.self) == 0
        else { return nil }
        let stored = load(p, offHeaderCRC, as: UInt32.self)
        guard CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: offHeaderCRC)) == stored else { return nil }
        return RecordHeader(
            operation: load(p, offOperation, as: UInt8.self),
            lsn: load(p, offLSN, as: UInt64.self),
            timestamp: load(p, offTimestamp, as: UInt64.self),
            durableWatermark: load(p, offWatermark, as: UInt64.self),
            eventCount: load(p, offEventCount, as: UInt32.self),
            bodyLength: load(p, offBodyLength, as: UInt32.self),
            bodyChecksum: load(p, offBodyCRC, as: UInt32.self),
            epoch: load(p, offEpoch, as: UInt64.self)
        )
    }

    /// Checksum of a body plus its zero padding, as stored in `bodyChecksum`.
    package static func bodyChecksum(_ body: UnsafeRawBufferPointer) -> UInt32 {
        let crc = CRC32C.checksum(body)
        let pad = paddedLength(body.count) - body.count
        if pad == 0 { return crc }
        return withUnsafeBytes(of: UInt64(0)) { zeros in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: zeros[0..<pad]), continuing: crc)
        }
    }
}
