import LedgerStorage
import NIOCore
import Testing

@testable import LedgerReplication

@Suite("Replication wire: every error code")
struct ErrorTests {
    /// A valid `records` frame of three records (LSN 10...12) and the offset of each record
    /// in the frame.
    static func recordsFrame(lengths: [Int] = [5, 16, 30]) -> (frame: [UInt8], offsets: [Int]) {
        let raw = Wire.records(first: 10, lengths: lengths)
        let body = Wire.le(UInt64(10)) + Wire.le(UInt64(9 + UInt64(lengths.count))) + Wire.le(UInt32(lengths.count)) + Wire.le(UInt32(0)) + raw
        var offsets: [Int] = []
        var at = 32 + 24
        for length in lengths {
            offsets.append(at)
            at += 64 + RecordHeader.paddedLength(length)
        }
        return (Wire.frame(type: 3, body: body), offsets)
    }

    static func ackFrame() -> [UInt8] { Wire.frame(type: 4, body: Wire.le(UInt64(3)) + Wire.le(UInt64(2))) }

    @Test func headerErrors() {
        let good = Self.ackFrame()
        #expect(Wire.errorCode(good) == nil)
        func altered(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var f = good
            change(&f)
            return f
        }
        #expect(Wire.errorCode(altered { $0[0] ^= 1 }) == .badMagic)
        #expect(Wire.errorCode(altered { $0[3] = UInt8(ascii: "Q") }) == .badMagic)
        #expect(Wire.errorCode(altered { $0[4] = 2 }) == .unsupportedVersion)
        #expect(Wire.errorCode(altered { $0[8] ^= 0x80 }) == .badHeaderChecksum)
        #expect(Wire.errorCode(altered { $0[29] ^= 1 }) == .badHeaderChecksum)
        #expect(Wire.errorCode(altered { $0[7] = 1; Wire.resealHeader(&$0) }) == .invalidHeader)
        #expect(Wire.errorCode(altered { $0[26] = 1; Wire.resealHeader(&$0) }) == .invalidHeader)
        for type: UInt8 in [0, 9, 10, 11, 255] {
            #expect(Wire.errorCode(altered { $0[6] = type; Wire.resealHeader(&$0) }) == .unknownType)
        }
        #expect(Wire.errorCode(altered { $0[40] ^= 4 }) == .badBodyChecksum)
        #expect(Wire.errorCode(altered { $0[20] ^= 4; Wire.resealHeader(&$0) }) == .badBodyChecksum)
        // Garbage is refused from its first 4 bytes.
        #expect(Wire.errorCode(Array("GET ".utf8)) == .badMagic)
        #expect(Wire.errorCode(Array("KREP".utf8) + [7, 0]) == .unsupportedVersion)
    }

    @Test func oversizeBodyIsRefusedFromTheHeader() {
        var header = Array(Self.ackFrame()[0..<32])
        header.replaceSubrange(16..<20, with: Wire.le(UInt32(ReplicationWireLimits.maxBodySize + 1)))
        Wire.resealHeader(&header)
        // Only the header was fed: the decoder does not wait for the body.
        var decoder = ReplicationFrameDecoder()
        var buffer = ByteBuffer(bytes: header)
        do {
            _ = try decoder.decodeNext(&buffer)
            Issue.record("an oversized body_size was accepted")
        } catch {
            #expect(error.code == .frameTooLarge)
        }
        // The largest allowed size just waits for more.
        header.replaceSubrange(16..<20, with: Wire.le(UInt32(ReplicationWireLimits.maxBodySize)))
        Wire.resealHeader(&header)
        var decoder2 = ReplicationFrameDecoder()
        var buffer2 = ByteBuffer(bytes: header)
        #expect((try? decoder2.decodeNext(&buffer2)) == .some(nil))
        #expect(Wire.errorCode(header) == .truncatedFrame)
        // UInt32.max as well.
        header.replaceSubrange(16..<20, with: Wire.le(UInt32.max))
        Wire.resealHeader(&header)
        #expect(Wire.errorCode(header) == .frameTooLarge)
    }

    @Test func truncatedAtEveryCutPoint() throws {
        for frame in try Samples.frames().prefix(8) {
            let bytes = try Wire.encode(frame)
            for cut in 1..<bytes.count {
                let result = Wire.decode(Array(bytes[0..<cut]))
                #expect(result.frames.isEmpty)
                #expect(result.error?.code == .truncatedFrame, "\(frame.message.type) cut at \(cut)")
                if result.error?.code != .truncatedFrame { break }
            }
            #expect(Wire.decode([]).error == nil)
        }
    }

    @Test func everyBitFlipIsCaught() {
        let (frame, _) = Self.recordsFrame()
        for bit in 0..<(frame.count * 8) {
            var f = frame
            f[bit / 8] ^= UInt8(1 << (bit % 8))
            let result = Wire.decode(f)
            #expect(result.frames.isEmpty && result.error != nil, "bit \(bit) not caught")
            if result.error == nil { return }
        }
    }

    /// A frame of `type` with `body`, sealed with correct checksums: the body is the only problem.
    static func bodyError(_ type: UInt8, _ body: [UInt8]) -> ReplicationWireError.Code? {
        Wire.errorCode(Wire.frame(type: type, body: body))
    }

    @Test func badBodies() {
        let u64 = { (v: UInt64) in Wire.le(v) }
        let goodAck = u64(1) + u64(2)
        #expect(Self.bodyError(4, goodAck) == nil)
        #expect(Self.bodyError(4, goodAck + [0]) == .badBody)  // trailing byte
        #expect(Self.bodyError(4, Array(goodAck.dropLast())) == .badBody)  // too short
        #expect(Self.bodyError(4, []) == .badBody)
        #expect(Self.bodyError(6, goodAck + [0, 0, 0, 0, 0, 0, 0, 0]) == .badBody)
        #expect(Self.bodyError(7, goodAck + goodAck + [1]) == .badBody)

        let history = Wire.le(UInt32(2)) + u64(1) + u64(1) + u64(2) + u64(5)
        let helloTail = [9, 9, 1, 0, 0].flatMap { u64($0) }
        let hello = { (node: [UInt8], tail: [UInt8], history: [UInt8]) in node + Wire.string("c:1") + tail + history }
        #expect(Self.bodyError(1, hello(Wire.string("n"), helloTail, history)) == nil)
        let long = String(repeating: "z", count: 1025)
        #expect(Self.bodyError(1, hello(Wire.string(long), helloTail, history)) == .badBody)  // string too long
        #expect(Self.bodyError(1, hello(Wire.le(UInt16(10)) + [1, 2], helloTail, history)) == .badBody)  // string past the end
        #expect(Self.bodyError(1, hello(Wire.le(UInt16(2)) + [0xC3, 0x28], helloTail, history)) == .badBody)  // not UTF-8
        let outOfOrder = Wire.le(UInt32(2)) + u64(2) + u64(1) + u64(1) + u64(5)
        #expect(Self.bodyError(1, hello(Wire.string("n"), helloTail, outOfOrder)) == .badBody)
        let sameLSN = Wire.le(UInt32(2)) + u64(1) + u64(5) + u64(2) + u64(5)
        #expect(Self.bodyError(1, hello(Wire.string("n"), helloTail, sameLSN)) == .badBody)
        #expect(Self.bodyError(1, hello(Wire.string("n"), helloTail, Wire.le(UInt32(4097)))) == .badBody)
        #expect(Self.bodyError(1, hello(Wire.string("n"), helloTail, Wire.le(UInt32(3)) + u64(1) + u64(1))) == .badBody)
        let orphanOffset = [9, 9, 1, 0, 7].flatMap { u64($0) }
        #expect(Self.bodyError(1, hello(Wire.string("n"), orphanOffset, history)) == .badBody)

        let welcome = { (action: UInt8, reserved: [UInt8], sizes: [UInt64]) in
            Wire.string("a") + Wire.string("") + [action] + reserved + sizes.flatMap { u64($0) } + Wire.le(UInt32(0))
        }
        let zeros7 = [UInt8](repeating: 0, count: 7)
        #expect(Self.bodyError(2, welcome(2, zeros7, [1, 2, 3, 10, 4])) == nil)
        #expect(Self.bodyError(2, welcome(3, zeros7, [1, 2, 3, 10, 4])) == .badBody)  // unknown action
        #expect(Self.bodyError(2, welcome(0, [0, 0, 1, 0, 0, 0, 0], [1, 2, 3, 10, 4])) == .badBody)  // reserved
        #expect(Self.bodyError(2, welcome(2, zeros7, [1, 2, 3, 10, 11])) == .badBody)  // offset past size

        let refuse = { (code: UInt16, reserved: [UInt8]) in Wire.le(code) + reserved + Wire.string("") + Wire.string("m") }
        let zeros6 = [UInt8](repeating: 0, count: 6)
        #expect(Self.bodyError(8, refuse(5, zeros6)) == nil)
        #expect(Self.bodyError(8, refuse(6, zeros6)) == nil)  // unauthorized, the newest code
        #expect(Self.bodyError(8, refuse(0, zeros6)) == .badBody)
        #expect(Self.bodyError(8, refuse(7, zeros6)) == .badBody)
        #expect(Self.bodyError(8, refuse(1, [0, 0, 0, 0, 0, 9])) == .badBody)

        let chunk = { (offset: UInt64, total: UInt64, n: Int) in u64(1) + u64(offset) + u64(total) + [UInt8](repeating: 7, count: n) }
        #expect(Self.bodyError(5, chunk(10, 20, 10)) == nil)
        #expect(Self.bodyError(5, chunk(10, 20, 11)) == .badBody)  // past total_size
        #expect(Self.bodyError(5, chunk(UInt64.max, UInt64.max, 1)) == .badBody)  // offset overflows
        #expect(Self.bodyError(5, chunk(0, 1 << 30, (4 << 20) + 1)) == .badBody)  // over 4 MiB
        #expect(Self.bodyError(5, Array(chunk(0, 0, 0).dropLast())) == .badBody)

        // records: a short prefix or non-zero reserved is a bad body, not a bad record.
        #expect(Self.bodyError(3, u64(1) + u64(1) + Wire.le(UInt32(1))) == .badBody)
        #expect(Self.bodyError(3, u64(1) + u64(1) + Wire.le(UInt32(1)) + Wire.le(UInt32(1)) + Wire.records(first: 1, lengths: [1])) == .badBody)
    }

    @Test func badRecords() {
        let (frame, offsets) = Self.recordsFrame()
        #expect(Wire.errorCode(frame) == nil)
        func resealed(_ change: (inout [UInt8]) -> Void) -> ReplicationWireError.Code? {
            var f = frame
            change(&f)
            Wire.reseal(&f)  // the frame's own checksums are right: only the records are wrong
            return Wire.errorCode(f)
        }
        // A byte of a record body, of its padding, of its header.
        #expect(resealed { $0[offsets[1] + 64 + 3] ^= 1 } == .badRecord)
        #expect(resealed { $0[offsets[0] + 64 + 6] = 1 } == .badRecord)  // padding after a 5-byte body
        #expect(resealed { $0[offsets[2] + 12] ^= 1 } == .badRecord)  // LSN byte, header CRC fails
        #expect(resealed { $0[offsets[2]] ^= 1 } == .badRecord)  // record magic
        // Wrong count, first_lsn, last_lsn.
        #expect(resealed { $0.replaceSubrange(48..<52, with: Wire.le(UInt32(2))) } == .badRecord)
        #expect(resealed { $0.replaceSubrange(48..<52, with: Wire.le(UInt32(4))) } == .badRecord)
        #expect(resealed { $0.replaceSubrange(40..<48, with: Wire.le(UInt64(13))) } == .badRecord)
        #expect(resealed { $0.replaceSubrange(32..<40, with: Wire.le(UInt64(11))) } == .badRecord)
        // The prefix agrees with itself but not with the records (LSNs 11...13 announced).
        #expect(
            resealed {
                $0.replaceSubrange(32..<40, with: Wire.le(UInt64(11)))
                $0.replaceSubrange(40..<48, with: Wire.le(UInt64(13)))
            } == .badRecord)
        // No records at all.
        #expect(
            Self.bodyError(3, Wire.le(UInt64(1)) + Wire.le(UInt64(0)) + Wire.le(UInt32(0)) + Wire.le(UInt32(0))) == .badRecord)
        #expect(
            Self.bodyError(3, Wire.le(UInt64(0)) + Wire.le(UInt64(0)) + Wire.le(UInt32(1)) + Wire.le(UInt32(0)) + Wire.record(lsn: 0, body: [1]))
                == .badRecord)
        // Non-consecutive LSNs: records 10, 12, 13 announced as 10...12.
        let gap = Wire.record(lsn: 10, body: [1]) + Wire.record(lsn: 12, body: [2]) + Wire.record(lsn: 13, body: [3])
        let prefix = Wire.le(UInt64(10)) + Wire.le(UInt64(12)) + Wire.le(UInt32(3)) + Wire.le(UInt32(0))
        #expect(Self.bodyError(3, prefix + gap) == .badRecord)
        // A trailing partial record, a missing one, an extra one.
        #expect(resealed { $0 += [0, 0, 0, 0, 0, 0, 0, 0] } == .badRecord)
        #expect(resealed { $0.removeLast(8) } == .badRecord)
        #expect(resealed { $0.removeSubrange(offsets[2]...) } == .badRecord)
        #expect(resealed { $0 += Wire.record(lsn: 13, body: [1]) } == .badRecord)
        // A body length that points past the end of the frame.
        #expect(
            resealed {
                var header = Array($0[offsets[2]..<(offsets[2] + 64)])
                header.replaceSubrange(36..<40, with: Wire.le(UInt32(1_000)))
                header.replaceSubrange(60..<64, with: Wire.le(Wire.crc(Array(header[0..<60]))))
                $0.replaceSubrange(offsets[2]..<(offsets[2] + 64), with: header)
            } == .badRecord)
        // And a record whose body checksum lies (header resealed).
        #expect(
            resealed {
                var header = Array($0[offsets[0]..<(offsets[0] + 64)])
                header[40] ^= 1
                header.replaceSubrange(60..<64, with: Wire.le(Wire.crc(Array(header[0..<60]))))
                $0.replaceSubrange(offsets[0]..<(offsets[0] + 64), with: header)
            } == .badRecord)
    }

    @Test func nothingAfterAnErrorIsDecoded() throws {
        let good = Self.ackFrame()
        var bad = good
        bad[40] ^= 1
        let result = Wire.decode(good + bad + good + good)
        #expect(result.frames.count == 1)
        #expect(result.error?.code == .badBodyChecksum)
    }
}
