import LedgerWire

/// The `error_code` of a server's error reply: every code of docs/protocol.md ("Error
/// replies"), with its protocol ``name``.
///
/// A struct rather than an enum, so that a code this client does not know yet still
/// arrives intact (as ``rawValue``, with a nil ``name``); compare with the static members:
///
/// ```swift
/// if case .serverError(let code) = error.code, code == .busy { … }
/// ```
///
/// Whether a failed request may have been executed is
/// ``KaminoClientError/mayHaveExecuted``; ``isRetryable`` tells the codes that
/// guarantee it was not.
public struct ServerErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The code as it travels on the wire.
    public let rawValue: UInt16

    /// Wraps a wire code, known or not.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The frame did not start with `KMNO`.
    public static let badMagic = ServerErrorCode(WireError.Code.badMagic)
    /// The server does not speak the frame's protocol version.
    public static let unsupportedVersion = ServerErrorCode(WireError.Code.unsupportedVersion)
    /// The header checksum did not match.
    public static let badHeaderChecksum = ServerErrorCode(WireError.Code.badHeaderChecksum)
    /// The frame announced a body larger than the protocol allows.
    public static let frameTooLarge = ServerErrorCode(WireError.Code.frameTooLarge)
    /// The stream ended in the middle of a frame.
    public static let truncatedFrame = ServerErrorCode(WireError.Code.truncatedFrame)
    /// The header was checksummed but invalid (kind, reserved bytes).
    public static let invalidHeader = ServerErrorCode(WireError.Code.invalidHeader)
    /// The body checksum did not match.
    public static let badBodyChecksum = ServerErrorCode(WireError.Code.badBodyChecksum)
    /// The operation is not one a client may call.
    public static let unknownOperation = ServerErrorCode(WireError.Code.unknownOperation)
    /// The body size or event count does not fit the operation.
    public static let badBodySize = ServerErrorCode(WireError.Code.badBodySize)
    /// More events than the protocol's batch limit.
    public static let tooManyEvents = ServerErrorCode(WireError.Code.tooManyEvents)
    /// A record could not be represented.
    public static let invalidBody = ServerErrorCode(WireError.Code.invalidBody)
    /// The server's queues are full: nothing was executed; retry later.
    public static let busy = ServerErrorCode(WireError.Code.busy)
    /// The server is stopping: nothing was executed; retry (elsewhere).
    public static let shuttingDown = ServerErrorCode(WireError.Code.shuttingDown)
    /// The server could not execute the request (for example its log failed); the
    /// request's outcome is unknown.
    public static let internalError = ServerErrorCode(WireError.Code.internalError)
    /// The ledger refused the batch as a whole (for example it is full); nothing changed.
    public static let batchRefused = ServerErrorCode(WireError.Code.batchRefused)
    /// The node is not the primary (a follower, or a fenced primary): nothing was
    /// executed; the client resends to the primary the error names, or to its other
    /// addresses.
    public static let notPrimary = ServerErrorCode(WireError.Code.notPrimary)
    /// Sync replication: the batch is durable on the primary but its followers did not
    /// confirm it in time; the outcome is unknown (resending under the same ids is safe).
    public static let replicationTimeout = ServerErrorCode(WireError.Code.replicationTimeout)
    /// `promote` was sent to a node that is not a follower; nothing changed.
    public static let notFollower = ServerErrorCode(WireError.Code.notFollower)
    /// The server's log cannot be written (disk full, I/O error): the write was not
    /// applied (on a replicated node it may have been applied by the next primary);
    /// reads still answer. Writes resume by themselves once the log can be written:
    /// resend later, with backoff (same ids: creates are idempotent).
    public static let logUnavailable = ServerErrorCode(WireError.Code.logUnavailable)
    /// Authentication is on and the token was refused, missing or expired; the server
    /// closed the connection (docs/security.md).
    public static let unauthenticated = ServerErrorCode(WireError.Code.unauthenticated)
    /// The token lacks the right the request needs, or the request touches a ledger
    /// outside the token's; nothing was executed.
    public static let forbidden = ServerErrorCode(WireError.Code.forbidden)
    /// The token's request or event rate is exhausted; nothing was executed; retry later.
    public static let rateLimited = ServerErrorCode(WireError.Code.rateLimited)
    /// The server (or this client address) has the most connections it allows.
    public static let tooManyConnections = ServerErrorCode(WireError.Code.tooManyConnections)
    /// The server closed a connection that sent no complete message in time, or stayed idle.
    public static let timedOut = ServerErrorCode(WireError.Code.timedOut)

    /// Every code of the protocol, in numeric order.
    public static let allKnown: [ServerErrorCode] = [
        .badMagic, .unsupportedVersion, .badHeaderChecksum, .frameTooLarge, .truncatedFrame, .invalidHeader,
        .badBodyChecksum, .unknownOperation, .badBodySize, .tooManyEvents, .invalidBody, .busy, .shuttingDown,
        .internalError, .batchRefused, .notPrimary, .replicationTimeout, .notFollower, .logUnavailable,
        .unauthenticated, .forbidden, .rateLimited, .tooManyConnections, .timedOut,
    ]

    /// The protocol's name of the code (`busy`, `shutting_down`, …), or nil for a code
    /// this client does not know.
    public var name: String? {
        guard let known = WireError.Code(rawValue: rawValue) else { return nil }
        // The wire's names are the snake_case of the codes' Swift names.
        var name = ""
        for ch in "\(known)" {
            if ch.isUppercase { name += "_" + ch.lowercased() } else { name.append(ch) }
        }
        return name
    }

    /// True for the codes that guarantee the request was not executed and may succeed
    /// if resent: `busy`, `shuttingDown` and `notPrimary` (resent to the primary).
    public var isRetryable: Bool { self == .busy || self == .shuttingDown || self == .notPrimary }

    /// The protocol's name of the code (`busy`, `shutting_down`, …), or its number.
    public var description: String { name ?? "\(rawValue)" }

    private init(_ code: WireError.Code) { rawValue = code.rawValue }
}
