/// A frame of the node-to-node protocol that cannot be accepted (docs/replication.md,
/// "Node-to-node protocol"). Every such error closes the connection: nothing of the
/// offending frame is applied.
package struct ReplicationWireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why a frame was rejected.
    package enum Code: Sendable, Hashable, CaseIterable {
        /// The first four bytes are not `KREP`.
        case badMagic
        /// The header's version is not one this node speaks.
        case unsupportedVersion
        /// The header checksum does not match header bytes 0..<28.
        case badHeaderChecksum
        /// The header announces a body larger than `ReplicationWireLimits.maxBodySize`, or
        /// a frame to send would be larger.
        case frameTooLarge
        /// The body checksum does not match the body.
        case badBodyChecksum
        /// A checksummed header with non-zero reserved bytes.
        case invalidHeader
        /// A checksummed header whose type is not a known message type.
        case unknownType
        /// A body that does not parse exactly: too short, trailing bytes, a string too long
        /// or not UTF-8, a history out of order, a non-zero reserved field, a value out of range.
        case badBody
        /// A `records` frame whose records are damaged, not consecutive, or do not match
        /// its first_lsn, last_lsn and count.
        case badRecord
        /// The stream ended in the middle of a frame.
        case truncatedFrame
    }

    /// Why the frame was rejected.
    package var code: Code
    /// A human-readable explanation (not part of the contract).
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "ReplicationWireError(\(code)): \(message)" }
}
