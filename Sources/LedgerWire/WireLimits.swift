import LedgerCore

/// Sizes and limits of the Kamino wire protocol (see docs/protocol.md, "Limits").
package enum WireLimits {
    /// Size of the fixed message header in bytes.
    package static let headerSize = 48
    /// Largest message, header included: 1 MiB.
    package static let maxMessageSize = 1 << 20
    /// Largest body: a message of `maxMessageSize` minus its header.
    package static let maxBodySize = maxMessageSize - headerSize
    /// Most events in one request and most records in one reply.
    package static let batchMax = LedgerLimits.batchMax
    /// Largest diagnostic text carried by an error reply, in UTF-8 bytes.
    package static let maxErrorTextSize = 1024
    /// Largest token an `authenticate` request carries, in bytes.
    package static let maxTokenSize = 16 * 1024
}
