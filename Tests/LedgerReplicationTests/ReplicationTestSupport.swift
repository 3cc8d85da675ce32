import LedgerStorage
import NIOCore
import Testing

@testable import LedgerReplication
import LedgerWorkload

/// Builds log records and raw frames byte by byte from docs/replication.md and docs/wal.md,
/// independently of the encoder, and decodes whole streams.
enum Wire {
    /// One log record: 64-byte header, body, zero padding to 8 (docs/wal.md).
    static func record(lsn: UInt64, body: [UInt8], operation: UInt8 = 2) -> [UInt8] {
        let crc = body.withUnsafeBytes { RecordHeader.bodyChecksum($0) }
        let header = RecordHeader(
            operation: operation, lsn: lsn, timestamp: 1_000 + lsn, durableWatermark: lsn > 0 ? lsn - 1 : 0, eventCount: 1,
            bodyLength: UInt32(body.count), bodyChecksum: crc)
        var bytes = [UInt8](repeating: 0, count: header.recordLength)
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            header.encode(to: base)
        }
        bytes.replaceSubrange(RecordHeader.size..<(RecordHeader.size + body.count), with: body)
        return bytes
    }

    /// The body of record `lsn` of length `length` (deterministic, non-zero bytes).
    static func body(_ lsn: UInt64, length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: Int(lsn) &* 31 &+ $0 &* 7 &+ 1) }
    }

    /// Consecutive records from `first`, one per length.
    static func records(first: UInt64, lengths: [Int]) -> [UInt8] {
        lengths.enumerated().flatMap { i, length in
            let lsn = first + UInt64(i)
            return record(lsn: lsn, body: body(lsn, length: length))
        }
    }

    /// A checked `Records` value over `records(first:lengths:)`.
    static func recordsMessage(first: UInt64, lengths: [Int]) throws -> ReplicationMessage.Records {
        try ReplicationMessage.Records(
            validating: ByteBuffer(bytes: records(first: first, lengths: lengths)), firstLSN: first,
            lastLSN: first + UInt64(lengths.count) - 1, count: lengths.count)
    }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func string(_ text: String) -> [UInt8] { le(UInt16(text.utf8.count)) + Array(text.utf8) }

    static func crc(_ bytes: [UInt8]) -> UInt32 { CRC32C.checksum(bytes) }

    /// A frame from its parts, with correct sizes and checksums unless overridden.
    static func frame(type: UInt8, epoch: UInt64 = 7, body: [UInt8]) -> [UInt8] {
        var header = Array("KREP".utf8) + le(UInt16(1)) + [type, 0] + le(epoch)
        header += le(UInt32(body.count)) + le(crc(body)) + le(UInt32(0))
        header += le(crc(header))
        precondition(header.count == 32)
        return header + body
    }

    /// Recomputes body_size, body checksum and header checksum of a raw frame.
    static func reseal(_ frame: inout [UInt8]) {
        let body = Array(frame[32...])
        frame.replaceSubrange(16..<20, with: le(UInt32(body.count)))
        frame.replaceSubrange(20..<24, with: le(crc(body)))
        resealHeader(&frame)
    }

    /// Recomputes only the header checksum.
    static func resealHeader(_ frame: inout [UInt8]) {
        frame.replaceSubrange(28..<32, with: le(crc(Array(frame[0..<28]))))
    }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [] }

    static func encode(_ frame: ReplicationFrame) throws -> [UInt8] { bytes(try ReplicationFrameEncoding.frame(frame)) }

    /// Decodes a whole stream (then end of stream): the frames, and the error if any.
    static func decode(_ bytes: [UInt8]) -> (frames: [ReplicationFrame], error: ReplicationWireError?) {
        let processor = NIOSingleStepByteToMessageProcessor(ReplicationFrameDecoder())
        var frames: [ReplicationFrame] = []
        do {
            try processor.process(buffer: ByteBuffer(bytes: bytes)) { frames.append($0) }
            try processor.finishProcessing(seenEOF: true) { frames.append($0) }
        } catch let error as ReplicationWireError {
            return (frames, error)
        } catch {
            Issue.record("non-ReplicationWireError thrown: \(error)")
        }
        return (frames, nil)
    }

    /// The error code a stream fails with, or nil when it decodes cleanly.
    static func errorCode(_ bytes: [UInt8]) -> ReplicationWireError.Code? { decode(bytes).error?.code }
}

/// One of every message, with non-trivial field values.
enum Samples {
    static let history: EpochHistory = {
        do {
            return try EpochHistory([.init(epoch: 1, firstLSN: 1), .init(epoch: 3, firstLSN: 250), .init(epoch: 4, firstLSN: 9_000)])
        } catch {
            preconditionFailure("sample history is ordered: \(error)")
        }
    }()

    static func frames() throws -> [ReplicationFrame] {
        let messages: [ReplicationMessage] = [
            .hello(
                .init(
                    nodeId: "node-b", clientAddress: "127.0.0.1:4410", lastLSN: 9_100, durableLSN: 9_090, snapshotLSN: 8_000,
                    partialSnapshotLSN: 9_050, partialSnapshotOffset: 4_096, history: history)),
            .hello(.init(nodeId: "ñode-ü", clientAddress: "", lastLSN: 0, durableLSN: 0, snapshotLSN: 0, history: EpochHistory())),
            .welcome(
                .init(nodeId: "node-a", clientAddress: "10.0.0.1:4410", action: .stream, startLSN: 9_101, history: history)),
            .welcome(.init(nodeId: "node-a", clientAddress: "", action: .truncate, truncateTo: 8_999, history: history)),
            .welcome(
                .init(
                    nodeId: "node-a", clientAddress: "h:1", action: .snapshot, snapshotLSN: 9_050, snapshotSize: 1 << 30,
                    snapshotOffset: 4_096, history: EpochHistory())),
            .records(try Wire.recordsMessage(first: 41, lengths: [0, 1, 7, 8, 9, 100, 4_000])),
            .records(try Wire.recordsMessage(first: 1, lengths: [16])),
            .ack(.init(durableLSN: 9_100, appliedLSN: 9_000)),
            .snapshotChunk(.init(snapshotLSN: 9_050, offset: 4_096, totalSize: 10_000, bytes: ByteBuffer(bytes: Array(0..<200)))),
            .snapshotChunk(.init(snapshotLSN: 9_050, offset: 10_000, totalSize: 10_000, bytes: ByteBuffer())),
            .snapshotDone(.init(snapshotLSN: 9_050, totalSize: 10_000)),
            .heartbeat(.init(lastLSN: 9_200, durableLSN: 9_190, commitLSN: 9_180, primaryTimeNanoseconds: 1_765_000_000_123_456_789)),
            .refuse(.init(code: .staleEpoch, message: "epoch 3 < 4")),
            .refuse(.init(code: .notPrimary, primaryAddress: "127.0.0.1:4411", message: "")),
            .refuse(.init(code: .diverged, message: "d")),
            .refuse(.init(code: .protocolError, message: "p")),
            .refuse(.init(code: .cannotServe, message: "snapshot 9050 is gone")),
        ]
        return messages.enumerated().map { i, m in ReplicationFrame(epoch: UInt64(i) * 0x0101_0101_0101, message: m) }
    }
}

/// A small deterministic generator (SplitMix64).
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        var generator = SplitMix64(seed: state)
        defer { state = generator.state }
        return generator.next()
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
