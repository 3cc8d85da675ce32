import LedgerStorage
package import NIOCore

/// Writes outbound `ReplicationFrame`s (see `ReplicationFrameEncoding`).
package struct ReplicationFrameEncoder: MessageToByteEncoder, Sendable {
    package typealias OutboundIn = ReplicationFrame

    package init() {}

    package func encode(data: ReplicationFrame, out: inout ByteBuffer) throws {
        try ReplicationFrameEncoding.encode(data, into: &out)
    }
}

/// Lays out frames: header, body, both checksums.
package enum ReplicationFrameEncoding {
    /// Appends the frame to `out`. Throws `badBody` for a message the protocol cannot carry
    /// (a string over `ReplicationWireLimits.maxStringBytes` bytes, an inconsistent
    /// snapshot chunk) and `frameTooLarge` for a body over `ReplicationWireLimits.maxBodySize`;
    /// `out` is then left as it was.
    package static func encode(_ frame: ReplicationFrame, into out: inout ByteBuffer) throws(ReplicationWireError) {
        let start = out.writerIndex
        out.writeRepeatingByte(0, count: ReplicationWireLimits.headerSize)
        do {
            try writeBody(frame.message, into: &out)
        } catch {
            out.moveWriterIndex(to: start)
            throw error
        }
        let bodyStart = start + ReplicationWireLimits.headerSize
        let bodySize = out.writerIndex - bodyStart
        guard bodySize <= ReplicationWireLimits.maxBodySize else {
            out.moveWriterIndex(to: start)
            throw ReplicationWireError(
                .frameTooLarge, "\(frame.message.type) body of \(bodySize) bytes exceeds \(ReplicationWireLimits.maxBodySize)")
        }
        guard let body = out.getSlice(at: bodyStart, length: bodySize) else {
            preconditionFailure("the body just written is readable")
        }
        let header = ReplicationFrameHeader(
            type: frame.message.type.rawValue, epoch: frame.epoch, bodySize: UInt32(bodySize),
            bodyChecksum: body.withUnsafeReadableBytes { CRC32C.checksum($0) })
        header.write(at: start, in: &out)
    }

    /// The frame as a new buffer.
    package static func frame(_ frame: ReplicationFrame) throws(ReplicationWireError) -> ByteBuffer {
        var out = ByteBuffer()
        try encode(frame, into: &out)
        return out
    }

    private static func writeBody(_ message: ReplicationMessage, into out: inout ByteBuffer) throws(ReplicationWireError) {
        switch message {
        case .hello(let m): try m.encode(into: &out)
        case .welcome(let m): try m.encode(into: &out)
        case .records(let m): m.encode(into: &out)
        case .ack(let m): m.encode(into: &out)
        case .snapshotChunk(let m): try m.encode(into: &out)
        case .snapshotDone(let m): m.encode(into: &out)
        case .heartbeat(let m): m.encode(into: &out)
        case .refuse(let m): try m.encode(into: &out)
        }
    }
}
