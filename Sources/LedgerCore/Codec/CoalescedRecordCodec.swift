/// The body of a log record that carries several client requests of one create operation,
/// each applied as its own batch, in order (docs/wal.md, "Coalesced records").
///
/// Layout, little-endian: u32 request count `n` (1...`LedgerLimits.batchMax`), u32 zero,
/// `n` u32 event counts, zero padding up to a multiple of 16 bytes, then the requests'
/// events back to back (128 bytes each, the canonical record encoding). The record's
/// header counts all the events. Request `i`'s batch timestamp is
/// `T - Σ_{j>i} max(count_j, 1)`, `T` being the record's timestamp: exactly the timestamps
/// the requests get when they are stamped one after the other with the same wall clock.
public enum CoalescedRecordCodec {
    /// Bytes of the fixed head (count and zero word).
    @usableFromInline static let headSize = 8

    /// Bytes before the first event for `n` requests.
    @inlinable
    public static func eventsOffset(requests n: Int) -> Int {
        precondition(n >= 0, "a negative request count is a caller bug")
        return (headSize + 4 * n + 15) / 16 * 16
    }

    /// The body for `requests` (each an array of accounts or transfers), in one
    /// allocation: on little-endian hosts a record's memory is its encoding
    /// (`RecordCodec.copyOut`), so each request's events are copied straight in;
    /// elsewhere `encodeBatch` encodes each request.
    @inlinable
    public static func encode<T: BitwiseCopyable>(_ requests: [[T]], encodeBatch: ([T]) -> [UInt8]) -> [UInt8] {
        precondition(!requests.isEmpty && requests.count <= LedgerLimits.batchMax, "1...batchMax requests per record")
        assert(MemoryLayout<T>.size == MemoryLayout<T>.stride, "a record copied as bytes has no padding")
        let offset = eventsOffset(requests: requests.count)
        var events = 0
        for r in requests { events += r.count }
        let total = offset + events * MemoryLayout<T>.stride
        #if _endian(little)
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let b = UnsafeMutableRawBufferPointer(buffer)
            b.initializeMemory(as: UInt8.self, repeating: 0)
            b.storeBytes(of: UInt32(requests.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            var at = offset
            for (i, r) in zip(requests.indices, requests) {
                b.storeBytes(of: UInt32(r.count).littleEndian, toByteOffset: headSize + 4 * i, as: UInt32.self)
                r.withUnsafeBytes { source in
                    if !source.isEmpty { UnsafeMutableRawBufferPointer(rebasing: b[at..<at + source.count]).copyMemory(from: source) }
                    at += source.count
                }
            }
            assert(at == total, "every event byte written")
            initialized = total
        }
        #else
        var out = [UInt8](repeating: 0, count: offset)
        out.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(requests.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            for (i, r) in zip(requests.indices, requests) {
                b.storeBytes(of: UInt32(r.count).littleEndian, toByteOffset: headSize + 4 * i, as: UInt32.self)
            }
        }
        out.reserveCapacity(total)
        for r in requests { out += encodeBatch(r) }
        return out
        #endif
    }

    /// The requests of a body; `decodeBatch` decodes one request's events.
    /// - Throws: `CodecError` when the head, the counts or the length do not agree.
    public static func decode<T>(
        _ body: UnsafeRawBufferPointer, recordSize: Int,
        decodeBatch: (UnsafeRawBufferPointer) throws(CodecError) -> [T]
    ) throws(CodecError) -> [[T]] {
        var reader = ByteReader(body)
        let n = Int(try reader.read(UInt32.self))
        guard n >= 1, n <= LedgerLimits.batchMax else {
            throw CodecError(.badLength, "a coalesced record holds \(n) requests; 1...\(LedgerLimits.batchMax) allowed")
        }
        guard try reader.read(UInt32.self) == 0 else { throw CodecError(.reservedNotZero, "coalesced record head") }
        var counts: [Int] = []
        counts.reserveCapacity(n)
        var total = 0
        for _ in 0..<n {
            let c = Int(try reader.read(UInt32.self))
            total += c
            guard total <= LedgerLimits.batchMax else {
                throw CodecError(.badLength, "a coalesced record holds more than \(LedgerLimits.batchMax) events")
            }
            counts.append(c)
        }
        let offset = eventsOffset(requests: n)
        guard try reader.skipReserved(offset - reader.offset) else {
            throw CodecError(.reservedNotZero, "coalesced record padding")
        }
        guard body.count == offset + total * recordSize else {
            throw CodecError(.badLength, "a coalesced record of \(total) events has \(body.count - offset) event bytes")
        }
        var requests: [[T]] = []
        requests.reserveCapacity(n)
        var at = offset
        for c in counts {
            let slice = UnsafeRawBufferPointer(rebasing: body[at..<at + c * recordSize])
            let events = try decodeBatch(slice)
            assert(events.count == c, "a request decodes to its counted events")
            requests.append(events)
            at += c * recordSize
        }
        assert(at == body.count, "every event byte belongs to a request")
        return requests
    }

    /// The batch timestamps of requests of `counts` events in a record stamped `last`.
    /// - Throws: `CodecError` when they would not all be positive (a corrupt record).
    @inlinable
    public static func timestamps(counts: [Int], last: UInt64) throws(CodecError) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: counts.count)
        var t = last
        var i = counts.count - 1
        for c in counts.reversed() {
            out[i] = t
            i -= 1
            let step = UInt64(max(c, 1))
            guard i < 0 || t > step else {
                throw CodecError(.badLength, "the requests' timestamps would not be positive under \(last)")
            }
            t &-= step
        }
        return out
    }
}
