import LedgerStorage
package import NIOCore

/// Splits a node-to-node byte stream into whole, validated frames.
///
/// Yields a `ReplicationFrame`, returns nil to ask for more bytes, or throws a
/// `ReplicationWireError`. Every error is final: the receiver closes the connection, and
/// the decoder discards everything it is given from then on. A frame is yielded only
/// when all of it checked out (header, body checksum, body layout, and for `records`
/// every record), so nothing of a bad frame is ever applied.
///
/// Memory stays bounded: a body longer than `ReplicationWireLimits.maxBodySize` is refused
/// from its header, before any of it is buffered. Decoded `records` and `snapshot_chunk`
/// bytes are slices of the received buffer (no copy).
package struct ReplicationFrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = ReplicationFrame

    /// The error after which the stream was abandoned, if any.
    package private(set) var failure: ReplicationWireError?

    package init() {}

    package mutating func decode(buffer: inout ByteBuffer) throws -> ReplicationFrame? {
        try decodeNext(&buffer)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ReplicationFrame? {
        if let frame = try decodeNext(&buffer) { return frame }
        guard failure == nil, buffer.readableBytes > 0 else { return nil }
        throw fail(
            ReplicationWireError(.truncatedFrame, "the stream ended inside a frame (\(buffer.readableBytes) bytes left)"),
            &buffer)
    }

    /// The typed-throws core of `decode(buffer:)`.
    package mutating func decodeNext(_ buffer: inout ByteBuffer) throws(ReplicationWireError) -> ReplicationFrame? {
        if failure != nil {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(ReplicationWireError) in try ReplicationFrameHeader.scan(bytes) }
        }
        let header: ReplicationFrameHeader
        let type: ReplicationMessageType
        switch scanned {
        case .failure(let error): throw fail(error, &buffer)
        case .success(.needMore): return nil
        case .success(.header(let h, let t)): (header, type) = (h, t)
        }
        guard buffer.readableBytes >= ReplicationWireLimits.headerSize + Int(header.bodySize) else { return nil }
        buffer.moveReaderIndex(forwardBy: ReplicationWireLimits.headerSize)
        guard let body = buffer.readSlice(length: Int(header.bodySize)) else {
            preconditionFailure("the body's \(header.bodySize) bytes were counted as readable")
        }
        do {
            return ReplicationFrame(epoch: header.epoch, message: try Self.message(type, header: header, body: body))
        } catch {
            throw fail(error, &buffer)
        }
    }

    private mutating func fail(_ error: ReplicationWireError, _ buffer: inout ByteBuffer) -> ReplicationWireError {
        failure = error
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return error
    }

    /// Checks the body checksum and decodes the body of a frame of `type`.
    static func message(_ type: ReplicationMessageType, header: ReplicationFrameHeader, body: ByteBuffer)
        throws(ReplicationWireError) -> ReplicationMessage
    {
        let computed = body.withUnsafeReadableBytes { CRC32C.checksum($0) }
        guard computed == header.bodyChecksum else {
            throw ReplicationWireError(
                .badBodyChecksum,
                "\(type) body checksum 0x\(String(header.bodyChecksum, radix: 16)) != computed 0x\(String(computed, radix: 16))")
        }
        var reader = BodyReader(body, type: type)
        switch type {
        case .hello: return .hello(try .init(decoding: &reader))
        case .welcome: return .welcome(try .init(decoding: &reader))
        case .records: return .records(try .init(decoding: &reader))
        case .ack: return .ack(try .init(decoding: &reader))
        case .snapshotChunk: return .snapshotChunk(try .init(decoding: &reader))
        case .snapshotDone: return .snapshotDone(try .init(decoding: &reader))
        case .heartbeat: return .heartbeat(try .init(decoding: &reader))
        case .refuse: return .refuse(try .init(decoding: &reader))
        }
    }
}
