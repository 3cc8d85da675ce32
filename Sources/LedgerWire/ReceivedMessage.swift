package import NIOCore

/// A decoded message and the body checksum its header carried, already verified against
/// the received body bytes.
///
/// A `create_accounts` or `create_transfers` request's events are a verbatim copy of its
/// body on little-endian hosts (`RecordCodec.copyBatch`) and its body is a whole number of
/// 128-byte events (no padding in the log), so this checksum is also the log record's
/// `RecordHeader.bodyChecksum` of a batch logged alone: the server hands it to the log
/// instead of checksumming the same bytes a second time (`DurableLedger.enqueueWrite`).
package struct ReceivedMessage: Sendable {
    package let message: Message
    /// CRC32C of the body as received (`WireChecksum`).
    package let bodyChecksum: UInt32
}

/// `KaminoMessageDecoder` yielding `ReceivedMessage`s: the server's decoder, which keeps
/// each request's verified body checksum.
package struct ReceivedMessageDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = ReceivedMessage

    private var decoder: KaminoMessageDecoder

    package init(accepting role: KaminoMessageDecoder.Role) {
        decoder = KaminoMessageDecoder(accepting: role)
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> ReceivedMessage? {
        try decoder.decodeReceived(&buffer)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ReceivedMessage? {
        try decoder.decodeLastReceived(&buffer)
    }
}
