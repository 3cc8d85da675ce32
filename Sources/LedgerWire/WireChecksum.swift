import CKaminoCRC
package import NIOCore

/// CRC32C (Castagnoli; reflected polynomial 0x82F63B78, initial value and final XOR
/// 0xFFFFFFFF) as used for the header and body checksums of every message.
package enum WireChecksum {
    /// Checksum of `bytes`, continuing from `crc` (0 to start).
    @inline(__always)
    package static func crc32c(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return kamino_crc32c(crc, base, bytes.count)
    }

    /// Checksum of `length` bytes of `buffer` starting at absolute index `index`;
    /// nil when that range is not readable.
    package static func crc32c(_ buffer: ByteBuffer, at index: Int, length: Int) -> UInt32? {
        guard length >= 0, let slice = buffer.getSlice(at: index, length: length) else { return nil }
        return slice.withUnsafeReadableBytes { crc32c($0) }
    }
}
