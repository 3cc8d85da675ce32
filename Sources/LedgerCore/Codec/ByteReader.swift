/// Reads little-endian integers from raw bytes, bounds-checked: a short input is an error,
/// never a trap. The one byte reader of the package (records, snapshots, wire bodies).
package struct ByteReader {
    package let bytes: UnsafeRawBufferPointer
    package private(set) var offset = 0

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    package var remaining: Int { bytes.count - offset }

    package mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(CodecError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw CodecError(.truncated, "needed \(size) bytes at offset \(offset)") }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        assert(offset <= bytes.count)
        return value
    }

    package mutating func readU128() throws(CodecError) -> UInt128 {
        let lo: UInt64 = try read()
        let hi: UInt64 = try read()
        return UInt128(hi) << 64 | UInt128(lo)
    }

    /// Skips `count` bytes; true if they were all zero.
    package mutating func skipReserved(_ count: Int) throws(CodecError) -> Bool {
        precondition(count >= 0, "a negative skip is a caller bug")
        guard remaining >= count else { throw CodecError(.truncated, "needed \(count) bytes at offset \(offset)") }
        var zero = true
        for i in offset..<offset + count where bytes[i] != 0 { zero = false }
        offset += count
        return zero
    }
}

/// Where `RecordCodec` writes records: a byte array (`ByteWriter`) here, a NIO
/// `ByteBuffer` in LedgerWire. The codec's writers are `@inlinable`, so each sink gets a
/// specialised copy.
@usableFromInline
package protocol LittleEndianSink {
    /// Appends `value` in little-endian byte order.
    mutating func writeLittleEndian<T: FixedWidthInteger>(_ value: T)
    /// Appends `count` zero bytes.
    mutating func writeZeros(_ count: Int)
}

extension LittleEndianSink {
    /// Appends a u128 as two little-endian u64, low half first.
    @inlinable
    package mutating func writeU128(_ value: UInt128) {
        writeLittleEndian(UInt64(truncatingIfNeeded: value))
        writeLittleEndian(UInt64(truncatingIfNeeded: value >> 64))
    }
}

/// Appends little-endian integers to a byte array.
struct ByteWriter: LittleEndianSink {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func writeLittleEndian<T: FixedWidthInteger>(_ value: T) { write(value) }

    mutating func writeZeros(_ count: Int) {
        bytes.append(contentsOf: repeatElement(0, count: count))
    }
}

/// A decoding error: the bytes do not hold what they should.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the bytes.
    public enum Code: UInt16, Sendable {
        /// Fewer bytes than the record or batch needs.
        case truncated = 1
        /// The length is not a whole number of records.
        case badLength = 2
        /// An unknown operation code.
        case unknownOperation = 3
        /// Bytes the layout reserves (must be zero) are not zero.
        case reservedNotZero = 4
    }
    public let code: Code
    public let detail: String
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
    public var description: String { "CodecError(\(code)): \(detail)" }
}
