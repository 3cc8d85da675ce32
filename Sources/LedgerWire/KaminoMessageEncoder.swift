package import NIOCore

/// Writes outbound `Message`s as frames (see `MessageEncoding`). Throws `WireError`
/// `tooManyEvents` for a message over `WireLimits.batchMax` records, writing nothing.
package struct KaminoMessageEncoder: MessageToByteEncoder, Sendable {
    package typealias OutboundIn = Message

    package init() {}

    package func encode(data: Message, out: inout ByteBuffer) throws {
        try MessageEncoding.encode(data, into: &out)
    }
}
