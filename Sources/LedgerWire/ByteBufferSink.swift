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

/// A `LittleEndianSink` over memory the caller reserved for whole records: stores with no
/// capacity, uniqueness or exclusivity check per field (`ByteBuffer.writeRecords`).
struct RawRecordSink: LittleEndianSink {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    /// Bytes written so far.
    private(set) var offset = 0

    init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    mutating func writeLittleEndian<T: FixedWidthInteger>(_ value: T) {
        precondition(offset + MemoryLayout<T>.size <= capacity, "a record written past its size")
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    @inline(__always)
    mutating func writeZeros(_ count: Int) {
        precondition(count >= 0 && offset + count <= capacity, "a record written past its size")
        (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: count)
        offset += count
    }
}

extension ByteBuffer {
    /// Appends exactly `size` bytes written by `body` (records in their canonical form,
    /// `RecordCodec`'s generic writers) in one pass over the buffer's memory: written field
    /// by field into the buffer, an `AccountFilter` cost about 3,000 instructions (a
    /// capacity and an exclusivity check per field; callgrind, bench bank mix).
    @inline(__always)
    mutating func writeRecords(size: Int, _ body: (inout RawRecordSink) -> Void) {
        precondition(size >= 0, "a negative record size")
        guard size > 0 else { return }
        writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            guard let base = out.baseAddress else { preconditionFailure("no memory for \(size) writable bytes") }
            var sink = RawRecordSink(base: base, capacity: size)
            body(&sink)
            precondition(sink.offset == size, "records of \(sink.offset) bytes where \(size) were announced")
            return size
        }
    }
}
