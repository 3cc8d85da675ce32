import LedgerCore
import LedgerWorkload
import NIOCore
import Testing

@testable import LedgerWire

/// The server's decoder: each message with its verified body checksum, and a large frame
/// arriving in pieces gets its whole size reserved instead of growing by doubling.
@Suite("Received messages")
struct ReceivedMessageTests {
    /// A full `create_transfers` batch after a small request, fed in reads of `piece` bytes.
    private static func feed(piece: Int) throws -> (got: [ReceivedMessage], expected: [Message], bodies: [[UInt8]]) {
        var r = SplitMix64(seed: 13)
        let small = Message.request(id: 1, Samples.request(.lookupAccounts, 3, &r))
        let big = Message.request(id: 2, Samples.request(.createTransfers, WireLimits.batchMax, &r))
        var stream = ByteBuffer()
        var bodies: [[UInt8]] = []
        for m in [small, big] {
            let one = try Wire.encode(m)
            bodies.append(Array(one.readableBytesView.dropFirst(WireLimits.headerSize)))
            stream.writeImmutableBuffer(one)
        }
        let processor = NIOSingleStepByteToMessageProcessor(ReceivedMessageDecoder(accepting: .requests))
        var got: [ReceivedMessage] = []
        while stream.readableBytes > 0 {
            guard let read = stream.readSlice(length: min(piece, stream.readableBytes)) else { break }
            try processor.process(buffer: read) { got.append($0) }
        }
        #expect(processor.unprocessedBytes == 0)
        return (got, [small, big], bodies)
    }

    @Test("messages fed in 64 KiB reads (and in one) come with the checksums of their bodies",
          arguments: [64 * 1024, 1000, 1 << 21])
    func checksums(piece: Int) throws {
        let (got, expected, bodies) = try Self.feed(piece: piece)
        #expect(got.map(\.message) == expected)
        #expect(got.map(\.bodyChecksum) == bodies.map { b in b.withUnsafeBytes { WireChecksum.crc32c($0) } })
    }

    @Test("a large incomplete frame is reserved whole once 64 KiB of it arrived, and not before")
    func reserve() {
        let frame = WireLimits.maxMessageSize
        var buffer = ByteBuffer(repeating: 7, count: KaminoMessageDecoder.reserveAfter - 1)
        KaminoMessageDecoder.reserveFrame(frame, in: &buffer)
        #expect(buffer.capacity < frame, "a peer that sent little gets no reservation")
        buffer.writeInteger(UInt8(7))
        buffer.writeRepeatingByte(9, count: 100)
        buffer.moveReaderIndex(forwardBy: 100)  // bytes of an earlier frame, already consumed
        let readable = buffer.readableBytes
        KaminoMessageDecoder.reserveFrame(frame, in: &buffer)
        #expect(buffer.readerIndex == 0, "consumed bytes are dropped first")
        #expect(buffer.readableBytes == readable)
        #expect(buffer.writableBytes >= frame - readable)
        #expect(buffer.capacity < 2 * frame, "no doubling beyond the frame")

        var smallFrame = ByteBuffer(repeating: 1, count: KaminoMessageDecoder.reserveAfter)
        let before = smallFrame.capacity
        KaminoMessageDecoder.reserveFrame(KaminoMessageDecoder.reserveFrameFrom - 1, in: &smallFrame)
        #expect(smallFrame.capacity == before, "frames under the threshold grow as they arrive")
    }
}
