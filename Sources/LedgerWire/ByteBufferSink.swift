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

extension ByteBuffer {
    /// Appends `count` create results in their canonical form (`RecordCodec.encodeResult`:
    /// timestamp u64, status u32, reserved u32 zero, little-endian), `result(i)` giving the
    /// timestamp and status of the `i`th, in one pass over the buffer's memory: a batch of
    /// 8189 results written field by field paid a capacity and an exclusivity check per field.
    @inline(__always)
    mutating func writeCreateResults(count: Int, _ result: (Int) -> (timestamp: UInt64, status: UInt32)) {
        precondition(count >= 0, "a negative result count")
        let size = RecordCodec.createResultSize
        assert(size == 16, "a create result is 16 bytes")
        writeWithUnsafeMutableBytes(minimumWritableBytes: count * size) { out in
            guard let base = out.baseAddress else { return 0 }
            for i in 0..<count {
                let (timestamp, status) = result(i)
                base.storeBytes(of: timestamp.littleEndian, toByteOffset: i * size, as: UInt64.self)
                base.storeBytes(of: status.littleEndian, toByteOffset: i * size + 8, as: UInt32.self)
                base.storeBytes(of: 0 as UInt32, toByteOffset: i * size + 12, as: UInt32.self)
            }
            return count * size
        }
    }
}
