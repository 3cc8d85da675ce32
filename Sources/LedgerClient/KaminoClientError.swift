/// An error thrown by ``KaminoClient``: a machine-readable ``code``, a human-readable
/// ``message``, and whether the request may have been executed (``mayHaveExecuted``).
///
/// Creates are idempotent by id, so after `timeout` or `connectionFailed` a create may
/// or may not have been applied; resending it under the same ids answers `exists` for
/// the events that were. A create containing a `linked` event is never resent
/// automatically after such a failure: it fails with `outcomeUnknown` instead.
///
/// ```swift
/// do {
///     _ = try await client.createTransfers(transfers)
/// } catch {
///     if case .serverError(.busy) = error.code { /* back off */ }
///     if error.mayHaveExecuted { /* look the ids up before resending anything else */ }
/// }
/// ```
public struct KaminoClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// No reply arrived within ``KaminoClientOptions/requestTimeout`` (after every retry).
        case timeout
        /// No server could be reached, or the connection was lost (after every retry).
        case connectionFailed
        /// A create containing `linked` events may or may not have been applied (its
        /// reply was lost to a timeout or a lost connection), so it was not resent: a
        /// resend would answer `exists` for the chain's first event and
        /// `linked_event_failed` for the others even when they were all applied. Look
        /// the ids up (`lookupAccounts` / `lookupTransfers`) before resending anything,
        /// and resend only the chains that are absent, under the same ids.
        case outcomeUnknown
        /// The circuit breaker is open: recent connection attempts failed, so the request
        /// failed fast without trying. Retry after ``CircuitBreakerPolicy/coolDown``.
        case circuitOpen
        /// The server answered with an error reply; the value is its `error_code`
        /// (docs/protocol.md, "Error replies"), for example ``ServerErrorCode/busy``.
        case serverError(ServerErrorCode)
        /// The server's reply could not be read or did not answer the request; the
        /// connection was dropped.
        case invalidReply
        /// The request itself is invalid (for example more events than the batch limit).
        case invalidArgument
        /// The client was closed.
        case closed
        /// The calling task was cancelled. A call cancelled while it was still queued
        /// was not sent; one cancelled once sent may have been applied (look it up).
        case cancelled
    }

    /// What went wrong.
    public var code: Code
    /// A human-readable explanation (not meant for parsing).
    public var message: String
    /// True when the request may have been executed although it failed: some attempt of
    /// it had been handed to a server and its outcome is unknown (`timeout`, a connection
    /// lost while awaiting the reply, `outcomeUnknown`, a `cancelled` call already sent,
    /// and the server errors `replication_timeout` and `internal_error`).
    ///
    /// False guarantees that nothing of the request was applied (for example a failed
    /// connection, `circuitOpen`, `busy`, `not_primary`, a call cancelled while queued).
    /// When true, look the ids up (``KaminoClient/lookupAccounts(_:)``,
    /// ``KaminoClient/lookupTransfers(_:)``) before deciding what to resend.
    public internal(set) var mayHaveExecuted = false
    /// With `serverError(.notPrimary)`: the primary's address named by the error reply,
    /// when the node knew it.
    var primaryAddress: String?

    /// Creates an error with a code and an explanation (``mayHaveExecuted`` false, or
    /// true for `outcomeUnknown`, whose very meaning it is).
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        self.mayHaveExecuted = code == .outcomeUnknown
    }

    /// `"KaminoClientError(code): message"`, with `, may have executed` after the code
    /// when ``mayHaveExecuted``.
    public var description: String {
        "KaminoClientError(\(code)\(mayHaveExecuted ? ", may have executed" : "")): \(message)"
    }

    /// True when resending may succeed: timeouts, lost connections, the server errors
    /// `busy`, `shutting_down` and `not_primary`, which guarantee nothing was executed,
    /// and `replication_timeout` (outcome unknown, like a timeout).
    var isRetryable: Bool {
        switch code {
        case .timeout, .connectionFailed: return true
        case .serverError(let code): return code.isRetryable || code == .replicationTimeout
        case .outcomeUnknown, .circuitOpen, .invalidReply, .invalidArgument, .closed, .cancelled: return false
        }
    }

    /// This error, marked as having happened after the request was written.
    func afterSending() -> KaminoClientError {
        var e = self
        e.mayHaveExecuted = true
        return e
    }

    /// Converts any error from NIO or the concurrency runtime into a client error.
    static func wrap(_ error: any Error) -> KaminoClientError {
        if let e = error as? KaminoClientError { return e }
        if error is CancellationError { return KaminoClientError(.cancelled, "cancelled") }
        return KaminoClientError(.connectionFailed, "\(error)")
    }
}
