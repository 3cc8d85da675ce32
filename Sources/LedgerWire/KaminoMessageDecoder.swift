import LedgerCore
package import NIOCore

/// Splits a byte stream into whole, validated messages.
///
/// Yields a `Message`, returns nil to ask for more bytes, or throws a `WireError`:
/// - Errors whose `code.closesConnection` is true (bad magic, unsupported version, bad
///   header checksum, frame too large, truncated frame) mean framing is lost: the decoder
///   discards everything it is given from then on. Close the connection after replying.
/// - Any other error concerns one frame only, which the decoder has already consumed
///   before throwing; the stream stays framed. With `NIOSingleStepByteToMessageProcessor`,
///   call `process(buffer:)` again (an empty buffer will do) to decode the bytes after it.
///   (NIO's `ByteToMessageHandler` stops decoding after any error, so a server that keeps
///   connections open after recoverable errors drives the processor from its own handler.)
///
/// Memory stays bounded: a body longer than `WireLimits.maxBodySize` is refused from its
/// header, before any of it is buffered.
package struct KaminoMessageDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = Message

    /// Which messages this side of a connection accepts.
    package enum Role: Sendable, CustomStringConvertible {
        /// A server: requests only.
        case requests
        /// A client: replies and error replies only.
        case replies

        package var description: String { self == .requests ? "requests" : "replies" }
    }

    package let role: Role
    /// The error after which framing was lost, if any.
    package private(set) var failure: WireError?

    package init(accepting role: Role) {
        self.role = role
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> Message? {
        try decodeNext(&buffer)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Message? {
        try decodeLastReceived(&buffer)?.message
    }

    /// `decodeLast(buffer:seenEOF:)` yielding the message with its verified body checksum.
    package mutating func decodeLastReceived(_ buffer: inout ByteBuffer) throws(WireError) -> ReceivedMessage? {
        if let received = try decodeReceived(&buffer) { return received }
        guard failure == nil, buffer.readableBytes > 0 else { return nil }
        throw fail(WireError(.truncatedFrame, "the stream ended inside a frame (\(buffer.readableBytes) bytes left)"), &buffer)
    }

    /// The typed-throws core of `decode(buffer:)`.
    package mutating func decodeNext(_ buffer: inout ByteBuffer) throws(WireError) -> Message? {
        try decodeReceived(&buffer)?.message
    }

    /// Frames of at least this many bytes get their whole size reserved in the buffer once
    /// `reserveAfter` of their bytes have arrived (`reserveFrame`).
    static let reserveFrameFrom = 128 * 1024
    /// Bytes of a large frame that must have arrived before its whole size is reserved: a
    /// peer gets at most 16 times the memory it has sent.
    static let reserveAfter = 64 * 1024

    /// `decodeNext`, with the body checksum the message's header carried (verified against
    /// the body before the message is yielded).
    package mutating func decodeReceived(_ buffer: inout ByteBuffer) throws(WireError) -> ReceivedMessage? {
        if failure != nil {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(WireError) in try HeaderFields.scan(bytes) }
        }
        let header: HeaderFields
        switch scanned {
        case .failure(let error): throw fail(error, &buffer)
        case .success(.needMore): return nil
        case .success(.header(let h)): header = h
        }
        guard Int(header.bodySize) <= WireLimits.maxBodySize else {
            throw fail(
                header.error(.frameTooLarge, "body_size \(header.bodySize) exceeds \(WireLimits.maxBodySize)"), &buffer)
        }
        // Consume the whole frame first: every error below leaves the stream framed.
        let frameLength = MessageHeader.size + Int(header.bodySize)
        guard var frame = buffer.readSlice(length: frameLength) else {
            Self.reserveFrame(frameLength, in: &buffer)
            return nil
        }
        frame.moveReaderIndex(forwardBy: MessageHeader.size)
        return ReceivedMessage(message: try Self.message(header, body: frame, role: role), bodyChecksum: header.bodyChecksum)
    }

    /// Makes room for the whole of a large frame whose first bytes are in `buffer`, so that
    /// the bytes still to come are appended in place. Without it the buffer grows by
    /// doubling as they arrive (64 KiB reads), each growth copying what it held: about one
    /// more copy of a 1 MiB body on the event loop. Only once `reserveAfter` bytes are in.
    static func reserveFrame(_ frameLength: Int, in buffer: inout ByteBuffer) {
        guard frameLength >= reserveFrameFrom, buffer.readableBytes >= reserveAfter,
              buffer.capacity - buffer.readerIndex < frameLength
        else { return }
        assert(buffer.readableBytes < frameLength, "only a frame still incomplete is reserved")
        if buffer.readerIndex > 0 { buffer.discardReadBytes() }
        buffer.reserveCapacity(minimumWritableBytes: frameLength - buffer.readableBytes)
        assert(buffer.writableBytes >= frameLength - buffer.readableBytes, "the rest of the frame fits")
    }

    private mutating func fail(_ error: WireError, _ buffer: inout ByteBuffer) -> WireError {
        failure = error
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return error
    }

    /// Validates a framed message and decodes its body.
    static func message(_ fields: HeaderFields, body: ByteBuffer, role: Role) throws(WireError) -> Message {
        let header = try fields.validated(accepting: role)
        let computed = body.withUnsafeReadableBytes { WireChecksum.crc32c($0) }
        guard computed == header.bodyChecksum else {
            throw fields.error(
                .badBodyChecksum,
                "body checksum 0x\(String(header.bodyChecksum, radix: 16)) != computed 0x\(String(computed, radix: 16))")
        }
        if header.kind == .errorReply {
            guard header.bodySize <= WireLimits.maxErrorTextSize, header.eventCount == 0 else {
                throw fields.error(.badBodySize, "an error reply has event_count 0 and at most \(WireLimits.maxErrorTextSize) bytes of text")
            }
            return .errorReply(
                ErrorReply(
                    requestId: header.requestId, operation: header.operation, rawCode: header.errorCode,
                    message: body.getString(at: body.readerIndex, length: body.readableBytes) ?? ""))
        }
        let isRequest = header.kind == .request
        if let admin = AdminOperation(rawValue: header.operation) {
            return try adminMessage(admin, header, body: body, fields: fields)
        }
        guard let op = BodyLayout.clientOperation(header.operation) else {
            throw fields.error(.unknownOperation, "operation \(header.operation) is not a client operation")
        }
        let count = try (isRequest ? BodyLayout.request(op) : BodyLayout.reply(op)).check(fields)
        let decoded = body.withUnsafeReadableBytes { bytes in
            Result { () throws(WireError) -> Message in
                isRequest
                    ? .request(id: header.requestId, try MessageBodyDecoding.request(op, count: count, body: bytes, header: fields))
                    : .reply(
                        id: header.requestId, try MessageBodyDecoding.reply(op, count: count, body: bytes, header: fields),
                        stateLSN: header.stateLSN)
            }
        }
        return try decoded.get()
    }

    /// A `status`, `promote` or `digest` message: an empty request, or a reply whose body is the
    /// node's UTF-8 JSON answer (never events).
    private static func adminMessage(
        _ admin: AdminOperation, _ header: MessageHeader, body: ByteBuffer, fields: HeaderFields
    ) throws(WireError) -> Message {
        guard header.eventCount == 0 else {
            throw fields.error(.badBodySize, "\(admin) carries no events; event_count is \(header.eventCount)")
        }
        if header.kind == .request, admin == .authenticate {
            guard header.bodySize <= WireLimits.maxTokenSize else {
                throw fields.error(.badBodySize, "a token of \(header.bodySize) bytes; at most \(WireLimits.maxTokenSize)")
            }
            return .request(id: header.requestId, .authenticate(Array(body.readableBytesView)))
        }
        if header.kind == .request {
            guard header.bodySize == 0 else {
                throw fields.error(.badBodySize, "a \(admin) request has an empty body, got \(header.bodySize) bytes")
            }
            switch admin {
            case .status: return .request(id: header.requestId, .status)
            case .promote: return .request(id: header.requestId, .promote)
            case .digest: return .request(id: header.requestId, .digest)
            case .authenticate: return .request(id: header.requestId, .authenticate([]))  // not reached: handled above
            }
        }
        let json = Array(body.readableBytesView)
        guard String(validating: json, as: UTF8.self) != nil else {
            throw fields.error(.invalidBody, "a \(admin) reply body is not UTF-8")
        }
        switch admin {
        case .status: return .reply(id: header.requestId, .status(json), stateLSN: header.stateLSN)
        case .promote: return .reply(id: header.requestId, .promote(json), stateLSN: header.stateLSN)
        case .digest: return .reply(id: header.requestId, .digest(json), stateLSN: header.stateLSN)
        case .authenticate: return .reply(id: header.requestId, .authenticate(json), stateLSN: header.stateLSN)
        }
    }
}
