/// Reads little-endian fields from raw bytes whose size was checked beforehand; a read
/// past the end returns zero instead of trapping (callers check sizes first).
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, bytes.count - offset >= size else {
            offset = bytes.count
            return 0
        }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func readU128() -> UInt128 {
        let lo = read(UInt64.self)
        let hi = read(UInt64.self)
        return UInt128(hi) << 64 | UInt128(lo)
    }

    /// Skips `count` bytes; true if they were all zero.
    mutating func skipReserved(_ count: Int) -> Bool {
        let end = min(bytes.count, offset + count)
        var zero = true
        for i in offset..<end where bytes[i] != 0 { zero = false }
        offset = end
        return zero
    }
}
