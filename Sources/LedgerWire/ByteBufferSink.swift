public import LedgerCore
package import NIOCore

/// `RecordCodec` writes straight into a `ByteBuffer`.
extension ByteBuffer: LittleEndianSink {
    package mutating func writeLittleEndian<T: FixedWidthInteger>(_ value: T) {
        writeInteger(value, endianness: .little)
    }

    package mutating func writeZeros(_ count: Int) {
        writeRepeatingByte(0, count: count)
    }
}

extension ByteBuffer {
    /// Appends accounts in their canonical form: one copy on little-endian hosts, whose
    /// in-memory layout is the canonical one (LedgerCore's LayoutTests).
    mutating func writeAccounts(_ accounts: [Account]) {
        #if _endian(little)
        if MemoryLayout<Account>.stride == RecordCodec.accountSize {
            accounts.withUnsafeBytes { _ = writeBytes($0) }
            return
        }
        #endif
        writeBytes(RecordCodec.encodeAccounts(accounts))
    }

    /// Appends transfers in their canonical form, as `writeAccounts`.
    mutating func writeTransfers(_ transfers: [Transfer]) {
        #if _endian(little)
        if MemoryLayout<Transfer>.stride == RecordCodec.transferSize {
            transfers.withUnsafeBytes { _ = writeBytes($0) }
            return
        }
        #endif
        writeBytes(RecordCodec.encodeTransfers(transfers))
    }
}
