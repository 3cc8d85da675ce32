/// An error thrown by `EtcdClient`: a machine-readable `code` and a human-readable `message`.
///
/// After `timeout` or `connectionFailed` a write may or may not have been applied by etcd:
/// read the key back (its `modRevision`, `createRevision`) before acting on the assumption.
package struct EtcdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    package enum Code: Sendable, Hashable {
        /// No endpoint could be reached, or the connection was lost before the reply.
        case connectionFailed
        /// No reply arrived before the request's deadline (`requestTimeout` from the call).
        case timeout
        /// etcd answered with a non-200 HTTP status; see `httpStatus` and `grpcCode`.
        case httpStatus
        /// The reply could not be parsed or lacks a field the request needs.
        case badResponse
        /// The lease does not exist any more (expired or revoked): a keep-alive answered
        /// without a TTL, or etcd said "requested lease not found".
        case leaseExpired
        /// The request itself is invalid (for example a bad endpoint or a TTL below 1).
        case invalidArgument
        /// The calling task was cancelled; a write already sent may have been applied.
        case cancelled
        /// The client was shut down.
        case closed
    }

    /// What went wrong.
    package var code: Code
    /// A human-readable explanation (not meant for parsing).
    package var message: String
    /// The HTTP status, when etcd answered with one other than 200.
    package var httpStatus: Int?
    /// The gRPC status code of the gateway's error body (`"code"`), when there was one.
    package var grpcCode: Int?

    /// Creates an error with a code and an explanation.
    package init(_ code: Code, _ message: String, httpStatus: Int? = nil, grpcCode: Int? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.grpcCode = grpcCode
    }

    /// `"EtcdError(code): message"`.
    package var description: String { "EtcdError(\(code)): \(message)" }
}
