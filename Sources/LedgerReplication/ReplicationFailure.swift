/// Why a replication connection or role change failed.
package struct ReplicationFailure: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    package enum Code: UInt16, Sendable {
        /// The peer closed the connection or could not be reached.
        case disconnected = 1
        /// The peer sent something the protocol does not allow here.
        case protocolError = 2
        /// The peer refused (a `refuse` frame), or this node refused the peer.
        case refused = 3
        /// The local log or data directory failed.
        case storage = 4
        /// The two logs cannot be reconciled without an operator.
        case diverged = 5
        /// The role change is not possible now (promote a primary, ...).
        case invalidRole = 6
        /// The peer stopped answering (a follower that acknowledges nothing it is sent).
        case timedOut = 7
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "ReplicationFailure(\(code)): \(message)" }
}
