import NIOCore
import NIOEmbedded
import Testing

@testable import LedgerReplication

@Suite("Replication wire: streams, channels and fuzzing")
struct StreamTests {
    @Test func byteAtATimeThroughAChannel() throws {
        let frames = try Samples.frames()
        let stream = try frames.flatMap { try Wire.encode($0) }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ReplicationFrameDecoder()))
        var got: [ReplicationFrame] = []
        for byte in stream {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            while let frame = try channel.readInbound(as: ReplicationFrame.self) { got.append(frame) }
        }
        #expect(got == frames)
        #expect(try channel.finish().isClean)
    }

    @Test func channelReportsErrorsAndTruncation() throws {
        let good = try Wire.encode(ReplicationFrame(epoch: 1, message: .ack(.init(durableLSN: 1, appliedLSN: 1))))
        var bad = good
        bad[33] ^= 1
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ReplicationFrameDecoder()))
        try channel.writeInbound(ByteBuffer(bytes: good))
        #expect(throws: ReplicationWireError.self) { try channel.writeInbound(ByteBuffer(bytes: bad + good)) }
        #expect(try channel.readInbound(as: ReplicationFrame.self) != nil)
        #expect(try channel.readInbound(as: ReplicationFrame.self) == nil)
        _ = try? channel.finish()

        let truncated = EmbeddedChannel(handler: ByteToMessageHandler(ReplicationFrameDecoder()))
        try truncated.writeInbound(ByteBuffer(bytes: good.dropLast()))
        do {
            _ = try truncated.finish()
            Issue.record("a truncated frame at end of stream was not reported")
        } catch let error as ReplicationWireError {
            #expect(error.code == .truncatedFrame)
        }
    }

    @Test func encoderInAChannel() throws {
        let frames = try Samples.frames()
        let channel = EmbeddedChannel(handler: MessageToByteHandler(ReplicationFrameEncoder()))
        var written: [UInt8] = []
        for frame in frames {
            try channel.writeOutbound(frame)
            while let out = try channel.readOutbound(as: ByteBuffer.self) { written += Wire.bytes(out) }
        }
        #expect(written == (try frames.flatMap { try Wire.encode($0) }))
        #expect(try channel.finish().isClean)
    }

    @Test func randomSplits() throws {
        let frames = try Samples.frames()
        let stream = try frames.flatMap { try Wire.encode($0) }
        var random = TestRandom(state: 42)
        for _ in 0..<200 {
            var cuts = (0..<random.below(12)).map { _ in random.below(stream.count + 1) } + [0, stream.count]
            cuts.sort()
            let processor = NIOSingleStepByteToMessageProcessor(ReplicationFrameDecoder())
            var got: [ReplicationFrame] = []
            for i in 1..<cuts.count {
                try processor.process(buffer: ByteBuffer(bytes: stream[cuts[i - 1]..<cuts[i]])) { got.append($0) }
            }
            try processor.finishProcessing(seenEOF: true) { got.append($0) }
            #expect(got == frames)
            if got != frames { return }
        }
    }

    /// Random garbage and mutated frames, split at random points: the decoder never traps,
    /// only ever yields frames that were sent intact (in order), and otherwise throws a
    /// `ReplicationWireError` or waits for more.
    @Test func fuzz() throws {
        let pool = try Samples.frames()
        let encoded = try pool.map { try Wire.encode($0) }
        var random = TestRandom(state: 0x5EED)
        var errors: [ReplicationWireError.Code: Int] = [:]
        var accepted = 0
        for _ in 0..<2_000 {
            var stream: [UInt8] = []
            var intact: [ReplicationFrame] = []
            for _ in 0..<(1 + random.below(4)) {
                let index = random.below(pool.count)
                var frame = encoded[index]
                switch random.below(8) {
                case 0, 1: break
                case 2:
                    for _ in 0..<(1 + random.below(3)) { frame[random.below(frame.count)] ^= UInt8(1 << random.below(8)) }
                case 3: frame.removeSubrange(random.below(frame.count)...)
                case 4:
                    // Body bytes changed with the frame resealed: only the body decoder can object.
                    if frame.count > 32 {
                        frame[32 + random.below(frame.count - 32)] = UInt8(truncatingIfNeeded: random.next())
                        Wire.reseal(&frame)
                    }
                case 5:
                    frame.replaceSubrange(16..<20, with: Wire.le(UInt32(truncatingIfNeeded: random.next())))
                    Wire.resealHeader(&frame)
                case 6:
                    frame[6] = UInt8(truncatingIfNeeded: random.next())
                    Wire.resealHeader(&frame)
                default:
                    frame = (0..<random.below(80)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    if frame.count >= 6, random.below(2) == 0 { frame.replaceSubrange(0..<6, with: Array("KREP".utf8) + [1, 0]) }
                }
                if frame == encoded[index] {
                    intact.append(pool[index])
                } else if case let alone = Wire.decode(frame), alone.error == nil, alone.frames.count == 1 {
                    // A resealed change can make another valid frame (an ack with other LSNs,
                    // an ack body relabelled snapshot_done): then that frame was sent intact.
                    intact.append(alone.frames[0])
                }
                stream += frame
            }
            var cuts = (0..<random.below(5)).map { _ in random.below(stream.count + 1) } + [0, stream.count]
            cuts.sort()
            let processor = NIOSingleStepByteToMessageProcessor(ReplicationFrameDecoder())
            var got: [ReplicationFrame] = []
            do {
                for i in 1..<cuts.count {
                    try processor.process(buffer: ByteBuffer(bytes: stream[cuts[i - 1]..<cuts[i]])) { got.append($0) }
                }
                try processor.finishProcessing(seenEOF: true) { got.append($0) }
            } catch let error as ReplicationWireError {
                errors[error.code, default: 0] += 1
            }
            // Every yielded frame is one of the intact ones, in order.
            var next = 0
            for frame in got {
                while next < intact.count && intact[next] != frame { next += 1 }
                #expect(next < intact.count, "yielded a frame that was not sent intact: \(frame.message.type)")
                if next == intact.count { return }
                next += 1
            }
            accepted += got.count
        }
        #expect(accepted > 0)
        for code: ReplicationWireError.Code in [.badMagic, .badHeaderChecksum, .badBodyChecksum, .badBody, .badRecord, .unknownType, .frameTooLarge, .truncatedFrame] {
            #expect(errors[code, default: 0] > 0, "never saw \(code): \(errors)")
        }
    }
}
