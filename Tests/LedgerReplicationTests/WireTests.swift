import LedgerStorage
import NIOCore
import Testing

@testable import LedgerReplication

@Suite("Replication wire: round trips and layouts")
struct WireTests {
    @Test func everyMessageRoundTrips() throws {
        let frames = try Samples.frames()
        #expect(Set(frames.map(\.message.type)) == Set(ReplicationMessageType.allCases))
        for frame in frames {
            let bytes = try Wire.encode(frame)
            let decoded = Wire.decode(bytes)
            #expect(decoded.error == nil, "\(frame.message.type): \(String(describing: decoded.error))")
            #expect(decoded.frames == [frame])
            // Re-encoding the decoded frame gives the same bytes.
            if let again = decoded.frames.first { #expect(try Wire.encode(again) == bytes) }
        }
        // All of them back to back in one stream.
        let stream = try frames.flatMap { try Wire.encode($0) }
        #expect(Wire.decode(stream).frames == frames)
        #expect(Wire.decode(stream).error == nil)
    }

    @Test func headerLayout() throws {
        let frame = ReplicationFrame(
            epoch: 0x1122_3344_5566_7788, message: .ack(.init(durableLSN: 5, appliedLSN: 4)))
        let bytes = try Wire.encode(frame)
        #expect(bytes.count == 32 + 16)
        #expect(Array(bytes[0..<4]) == [0x4B, 0x52, 0x45, 0x50])  // "KREP"
        #expect(Array(bytes[4..<8]) == [1, 0, 4, 0])  // version 1, type 4 (ack), reserved
        #expect(Array(bytes[8..<16]) == Wire.le(UInt64(0x1122_3344_5566_7788)))
        #expect(Array(bytes[16..<20]) == Wire.le(UInt32(16)))
        #expect(Array(bytes[24..<28]) == [0, 0, 0, 0])
        // The encoder's output equals a frame built from the documented layout.
        #expect(bytes == Wire.frame(type: 4, epoch: 0x1122_3344_5566_7788, body: Wire.le(UInt64(5)) + Wire.le(UInt64(4))))
    }

    @Test func bodyLayoutsMatchTheDocument() throws {
        let h = Samples.history
        let historyBytes = Wire.le(UInt32(3)) + h.entries.flatMap { Wire.le($0.epoch) + Wire.le($0.firstLSN) }
        let cases: [(ReplicationMessage, UInt8, [UInt8])] = [
            (
                .hello(
                    .init(
                        nodeId: "b", clientAddress: "h:2", lastLSN: 10, durableLSN: 9, snapshotLSN: 8, partialSnapshotLSN: 7,
                        partialSnapshotOffset: 6, history: h)),
                1,
                Wire.string("b") + Wire.string("h:2") + [10, 9, 8, 7, 6].flatMap { Wire.le(UInt64($0)) } + historyBytes
            ),
            (
                // A token is an optional trailing field: u32 length, then its bytes.
                .hello(
                    .init(
                        nodeId: "b", clientAddress: "", lastLSN: 1, durableLSN: 1, snapshotLSN: 0, history: h,
                        token: Array("a.b.c".utf8))),
                1,
                Wire.string("b") + Wire.string("") + [1, 1, 0, 0, 0].flatMap { Wire.le(UInt64($0)) } + historyBytes
                    + Wire.le(UInt32(5)) + Array("a.b.c".utf8)
            ),
            (
                .welcome(
                    .init(
                        nodeId: "a", clientAddress: "", action: .snapshot, startLSN: 1, truncateTo: 2, snapshotLSN: 3,
                        snapshotSize: 5, snapshotOffset: 4, history: h)),
                2,
                Wire.string("a") + Wire.string("") + [2, 0, 0, 0, 0, 0, 0, 0] + [1, 2, 3, 5, 4].flatMap { Wire.le(UInt64($0)) }
                    + historyBytes
            ),
            (
                .records(try Wire.recordsMessage(first: 3, lengths: [5, 0])), 3,
                Wire.le(UInt64(3)) + Wire.le(UInt64(4)) + Wire.le(UInt32(2)) + Wire.le(UInt32(0))
                    + Wire.records(first: 3, lengths: [5, 0])
            ),
            (.ack(.init(durableLSN: 1, appliedLSN: 2)), 4, Wire.le(UInt64(1)) + Wire.le(UInt64(2))),
            (
                .snapshotChunk(.init(snapshotLSN: 1, offset: 2, totalSize: 5, bytes: ByteBuffer(bytes: [9, 9, 9]))), 5,
                [1, 2, 5].flatMap { Wire.le(UInt64($0)) } + [9, 9, 9]
            ),
            (.snapshotDone(.init(snapshotLSN: 1, totalSize: 2)), 6, Wire.le(UInt64(1)) + Wire.le(UInt64(2))),
            (
                .heartbeat(.init(lastLSN: 1, durableLSN: 2, commitLSN: 3, primaryTimeNanoseconds: 4)), 7,
                [1, 2, 3, 4].flatMap { Wire.le(UInt64($0)) }
            ),
            (
                .refuse(.init(code: .notPrimary, primaryAddress: "p:1", message: "no")), 8,
                Wire.le(UInt16(2)) + [0, 0, 0, 0, 0, 0] + Wire.string("p:1") + Wire.string("no")
            ),
        ]
        for (message, type, body) in cases {
            let built = Wire.frame(type: type, epoch: 9, body: body)
            #expect(try Wire.encode(ReplicationFrame(epoch: 9, message: message)) == built, "\(message.type)")
            #expect(Wire.decode(built).frames == [ReplicationFrame(epoch: 9, message: message)], "\(message.type)")
        }
    }

    @Test func recordsAreSlicesAndIterate() throws {
        let lengths = [0, 1, 7, 8, 9, 100, 4_000, 3]
        let raw = Wire.records(first: 100, lengths: lengths)
        let frame = ReplicationFrame(epoch: 2, message: .records(try Wire.recordsMessage(first: 100, lengths: lengths)))
        let decoded = Wire.decode(try Wire.encode(frame))
        guard case .records(let records) = decoded.frames.first?.message else {
            Issue.record("no records frame: \(decoded)")
            return
        }
        #expect(records.firstLSN == 100 && records.lastLSN == 107 && records.count == 8)
        #expect(Wire.bytes(records.bytes) == raw)
        let items = Array(records)
        #expect(items.map(\.header.lsn) == Array(100...107))
        #expect(items.map { Wire.bytes($0.body) } == lengths.enumerated().map { Wire.body(100 + UInt64($0), length: $1) })
        #expect(items.map(\.header.bodyLength) == lengths.map { UInt32($0) })
    }

    @Test func recordsHelperChecksRawRecords() throws {
        let raw = Wire.records(first: 5, lengths: [3, 4, 5])
        let made = try ReplicationMessage.Records(validating: ByteBuffer(bytes: raw), firstLSN: 5, lastLSN: 7, count: 3)
        #expect(made.count == 3)
        // A slice of a larger buffer (as read from a segment) is used without copying.
        var segment = ByteBuffer(bytes: [UInt8](repeating: 0xAA, count: 40) + raw + [1, 2, 3])
        segment.moveReaderIndex(forwardBy: 40)
        let slice = segment.getSlice(at: segment.readerIndex, length: raw.count) ?? ByteBuffer()
        let fromSlice = try ReplicationMessage.Records(validating: slice, firstLSN: 5, lastLSN: 7, count: 3)
        #expect(fromSlice == made)
        do {
            _ = try ReplicationMessage.Records(validating: ByteBuffer(bytes: raw), firstLSN: 5, lastLSN: 8, count: 4)
            Issue.record("a wrong count was accepted")
        } catch {
            #expect(error.code == .badRecord)
        }
    }

    /// A record whose padding is not zero is refused even when its body checksum covers
    /// that padding: a follower logs the body with the received checksum and pads it with
    /// zeros itself, so such a record would be logged damaged.
    @Test func recordsWithNonZeroPaddingAreRefused() throws {
        var raw = Wire.records(first: 5, lengths: [3])
        let paddingStart = RecordHeader.size + 3
        #expect(raw.count == RecordHeader.size + 8)
        raw[paddingStart] = 0x55
        // Seal the body checksum over the non-zero padding, then the header checksum.
        let crc = CRC32C.checksum(Array(raw[RecordHeader.size...]))
        raw.replaceSubrange(40..<44, with: Wire.le(crc))
        raw.replaceSubrange(60..<64, with: Wire.le(CRC32C.checksum(Array(raw[0..<60]))))
        do {
            _ = try ReplicationMessage.Records(validating: ByteBuffer(bytes: raw), firstLSN: 5, lastLSN: 5, count: 1)
            Issue.record("a record with non-zero padding was accepted")
        } catch {
            #expect(error.code == .badRecord)
            #expect(error.message.contains("padding"))
        }
        // The same record with zero padding passes (the test changed only the padding).
        raw[paddingStart] = 0
        let sealed = CRC32C.checksum(Array(raw[RecordHeader.size...]))
        raw.replaceSubrange(40..<44, with: Wire.le(sealed))
        raw.replaceSubrange(60..<64, with: Wire.le(CRC32C.checksum(Array(raw[0..<60]))))
        #expect(raw == Wire.records(first: 5, lengths: [3]))
        _ = try ReplicationMessage.Records(validating: ByteBuffer(bytes: raw), firstLSN: 5, lastLSN: 5, count: 1)
    }

    /// The primary frames its own in-memory records without checking their bodies again;
    /// the follower's decoder still checks every body, so a damaged one is refused there.
    @Test func ownLogRecordsSkipOnlyTheBodyCheck() throws {
        let raw = Wire.records(first: 5, lengths: [3, 20])
        let own = try ReplicationMessage.Records(ownLog: ByteBuffer(bytes: raw), firstLSN: 5, lastLSN: 6, count: 2)
        #expect(own == (try ReplicationMessage.Records(validating: ByteBuffer(bytes: raw), firstLSN: 5, lastLSN: 6, count: 2)))
        // Headers, LSNs and lengths are still checked.
        #expect(throws: ReplicationWireError.self) {
            _ = try ReplicationMessage.Records(ownLog: ByteBuffer(bytes: raw), firstLSN: 6, lastLSN: 7, count: 2)
        }
        #expect(throws: ReplicationWireError.self) {
            _ = try ReplicationMessage.Records(ownLog: ByteBuffer(bytes: Array(raw.dropLast(8))), firstLSN: 5, lastLSN: 6, count: 2)
        }
        // A damaged body passes here, and the follower's decoder refuses the frame.
        var damaged = raw
        damaged[RecordHeader.size + 1] ^= 0x01
        let wrapped = try ReplicationMessage.Records(ownLog: ByteBuffer(bytes: damaged), firstLSN: 5, lastLSN: 6, count: 2)
        let decoded = Wire.decode(try Wire.encode(ReplicationFrame(epoch: 2, message: .records(wrapped))))
        #expect(decoded.frames.isEmpty)
        #expect(decoded.error?.code == .badRecord)
    }

    @Test func epochHistoryValidates() {
        #expect(EpochHistory().entries.isEmpty)
        #expect((try? EpochHistory([.init(epoch: 1, firstLSN: 1), .init(epoch: 2, firstLSN: 2)]))?.last?.epoch == 2)
        for bad: [EpochHistory.Entry] in [
            [.init(epoch: 2, firstLSN: 1), .init(epoch: 2, firstLSN: 5)],
            [.init(epoch: 1, firstLSN: 5), .init(epoch: 2, firstLSN: 5)],
            [.init(epoch: 3, firstLSN: 1), .init(epoch: 2, firstLSN: 5)],
            (0...4096).map { .init(epoch: UInt64($0), firstLSN: UInt64($0)) },
        ] {
            #expect(throws: ReplicationWireError.self) { try EpochHistory(bad) }
        }
        #expect((try? EpochHistory((0..<4096).map { .init(epoch: UInt64($0), firstLSN: UInt64($0)) }))?.entries.count == 4096)
    }

    @Test func encoderRefusesWhatTheProtocolCannotCarry() throws {
        let long = String(repeating: "x", count: 1025)
        let bad: [(ReplicationMessage, ReplicationWireError.Code)] = [
            (.hello(.init(nodeId: long, clientAddress: "", lastLSN: 0, durableLSN: 0, snapshotLSN: 0, history: .init())), .badBody),
            (.welcome(.init(nodeId: "a", clientAddress: long, action: .stream, history: .init())), .badBody),
            (.welcome(.init(nodeId: "a", clientAddress: "", action: .snapshot, snapshotSize: 1, snapshotOffset: 2, history: .init())), .badBody),
            (
                .hello(
                    .init(nodeId: "b", clientAddress: "", lastLSN: 0, durableLSN: 0, snapshotLSN: 0, partialSnapshotOffset: 3, history: .init())),
                .badBody
            ),
            (
                .hello(
                    .init(nodeId: "b", clientAddress: "", lastLSN: 0, durableLSN: 0, snapshotLSN: 0, history: .init(),
                          token: [UInt8](repeating: 0x61, count: (16 << 10) + 1))),
                .badBody
            ),
            (.refuse(.init(code: .diverged, primaryAddress: long, message: "")), .badBody),
            (.snapshotChunk(.init(snapshotLSN: 1, offset: 5, totalSize: 6, bytes: ByteBuffer(bytes: [1, 2]))), .badBody),
            (
                .snapshotChunk(
                    .init(snapshotLSN: 1, offset: 0, totalSize: 1 << 40, bytes: ByteBuffer(repeating: 0, count: (4 << 20) + 1))),
                .badBody
            ),
        ]
        for (message, code) in bad {
            var out = ByteBuffer(bytes: [1, 2, 3])
            #expect(throws: ReplicationWireError.self) { try ReplicationFrameEncoding.encode(.init(epoch: 1, message: message), into: &out) }
            do {
                try ReplicationFrameEncoding.encode(.init(epoch: 1, message: message), into: &out)
            } catch {
                #expect(error.code == code)
            }
            #expect(Wire.bytes(out) == [1, 2, 3], "nothing written for \(message.type)")
        }
        // A refuse message is cut to fit rather than refused.
        let refuse = ReplicationMessage.Refuse(code: .protocolError, message: String(repeating: "é", count: 700))
        #expect(refuse.message.utf8.count == 1024)
        #expect(Wire.decode(try Wire.encode(.init(epoch: 0, message: .refuse(refuse)))).frames.count == 1)
        // Records that do not fit one frame.
        let big = Wire.records(first: 1, lengths: [(4 << 20), (4 << 20), 64 << 10])
        #expect(big.count > ReplicationMessage.Records.maxRecordBytes)
        do {
            _ = try ReplicationMessage.Records(validating: ByteBuffer(bytes: big), firstLSN: 1, lastLSN: 3, count: 3)
            Issue.record("oversized records accepted")
        } catch {
            #expect(error.code == .frameTooLarge)
        }
    }

    @Test func largestRecordsFrameFits() throws {
        // 8 MiB of records in one frame: the limit leaves room for the prefix.
        let lengths = [Int](repeating: (1 << 20) - 64, count: 8)
        let records = try Wire.recordsMessage(first: 1, lengths: lengths)
        #expect(records.bytes.readableBytes == 8 << 20)
        let bytes = try Wire.encode(.init(epoch: 1, message: .records(records)))
        #expect(Wire.decode(bytes).frames.count == 1)
    }
}
