import CKaminoCRC

/// CRC32C (Castagnoli) as used by every checksum in the log and snapshots.
package enum CRC32C {
    /// Checksum of `bytes`, continuing from `crc` (0 to start).
    @inline(__always)
    package static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return kamino_crc32c(crc, base, bytes.count)
    }

    /// Checksum of a byte array, continuing from `crc` (0 to start).
    package static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// True when the SSE4.2 instruction is used.
    package static var usesHardware: Bool { kamino_crc32c_has_hardware() != 0 }
}
