/// A protocol error: a frame that cannot be accepted, or a request the server refuses.
///
/// The same codes travel in the `error_code` field of error replies (docs/protocol.md,
/// "Error replies").
package struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why a frame was rejected. Raw values are the wire's `error_code` values.
    package enum Code: UInt16, Sendable, CaseIterable {
        /// The first four bytes are not `KMNO`.
        case badMagic = 1
        /// The header's version is not one this peer speaks.
        case unsupportedVersion = 2
        /// The header checksum does not match the header's first 44 bytes.
        case badHeaderChecksum = 3
        /// The header announces a body larger than `WireLimits.maxBodySize`.
        case frameTooLarge = 4
        /// The stream ended in the middle of a frame.
        case truncatedFrame = 5
        /// A checksummed header with an unknown or unexpected kind, non-zero reserved
        /// bytes, or an `error_code` that does not fit its kind.
        case invalidHeader = 6
        /// The body checksum does not match the body.
        case badBodyChecksum = 7
        /// The operation code is not one a client may call.
        case unknownOperation = 8
        /// The body size or event count does not fit the operation.
        case badBodySize = 9
        /// More than `WireLimits.batchMax` events or records.
        case tooManyEvents = 10
        /// A reply record that cannot be represented (unknown status, non-zero reserved).
        case invalidBody = 11
        /// The server's queues are full; retry later.
        case busy = 12
        /// The server is stopping and closes the connection.
        case shuttingDown = 13
        /// The server failed to execute the request (for example the log could not be written).
        case internalError = 14
        /// The ledger refused the batch as a whole (for example its capacity is
        /// exhausted); nothing changed.
        case batchRefused = 15
        /// The node is not the primary (a follower, or a primary that fenced itself); the
        /// request was not executed. The body starts with the primary's `HOST:PORT` when
        /// the node knows it (docs/protocol.md).
        case notPrimary = 16
        /// Sync replication: the batch is durable on the primary but the sync quorum did
        /// not confirm it in time; its outcome is unknown (resending is safe).
        case replicationTimeout = 17
        /// `promote` was sent to a node that is not a follower (a standalone node or a
        /// primary); nothing changed.
        case notFollower = 18
        /// The server's log cannot be written (disk full, file size limit, I/O error):
        /// the write was not applied on a standalone server; reads still answer from the
        /// durable state, and writes resume by themselves once the log can be written.
        /// A replicated node fences itself instead: the write may have been applied by
        /// the next primary (resending under the same ids is safe).
        case logUnavailable = 19
        /// Authentication is on and the connection has not presented a valid token (a
        /// request before `authenticate`, or a refused token); the connection is closed.
        case unauthenticated = 20
        /// The token lacks the right the request needs, or the request touches a ledger
        /// the token is not limited to; nothing was executed.
        case forbidden = 21
        /// The token's (or, with authentication off, the address's) request or event rate
        /// is exhausted; nothing was executed; retry after the time the body names.
        case rateLimited = 22
        /// The server, or this client address, has the most connections allowed; the
        /// connection is closed.
        case tooManyConnections = 23
        /// No complete first message in time, or an idle connection; it is closed.
        case timedOut = 24

        /// True when framing is lost or the server is going away: the connection is
        /// closed after the error reply.
        package var closesConnection: Bool {
            switch self {
            case .badMagic, .unsupportedVersion, .badHeaderChecksum, .frameTooLarge,
                .truncatedFrame, .shuttingDown, .unauthenticated, .tooManyConnections, .timedOut:
                return true
            case .invalidHeader, .badBodyChecksum, .unknownOperation, .badBodySize,
                .tooManyEvents, .invalidBody, .busy, .internalError, .batchRefused, .notPrimary,
                .replicationTimeout, .notFollower, .logUnavailable, .forbidden, .rateLimited:
                return false
            }
        }
    }

    /// Why the frame was rejected.
    package var code: Code
    /// The request id of the offending frame, when its header could be trusted.
    package var requestId: UInt64?
    /// The operation byte of the offending frame, when its header could be trusted.
    package var operation: UInt8?
    /// A human-readable explanation (not part of the contract).
    package var detail: String

    package init(_ code: Code, requestId: UInt64? = nil, operation: UInt8? = nil, _ detail: String) {
        self.code = code
        self.requestId = requestId
        self.operation = operation
        self.detail = detail
    }

    package var description: String {
        let id = requestId.map { " request \($0)" } ?? ""
        return "WireError(\(code)\(id)): \(detail)"
    }
}
