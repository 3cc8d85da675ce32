/// The `error_code` of a server's error reply (docs/protocol.md, "Error replies").
///
/// A struct rather than an enum, so that a code this client does not know yet still
/// arrives intact (as `rawValue`); compare with the static members:
///
/// ```swift
/// if case .serverError(let code) = error.code, code == .busy { … }
/// ```
public struct ServerErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The code as it travels on the wire.
    public let rawValue: UInt16

    /// Wraps a wire code, known or not.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The frame did not start with `KMNO`.
    public static let badMagic = ServerErrorCode(rawValue: 1)
    /// The server does not speak the frame's protocol version.
    public static let unsupportedVersion = ServerErrorCode(rawValue: 2)
    /// The header checksum did not match.
    public static let badHeaderChecksum = ServerErrorCode(rawValue: 3)
    /// The frame announced a body larger than the protocol allows.
    public static let frameTooLarge = ServerErrorCode(rawValue: 4)
    /// The stream ended in the middle of a frame.
    public static let truncatedFrame = ServerErrorCode(rawValue: 5)
    /// The header was checksummed but invalid (kind, reserved bytes).
    public static let invalidHeader = ServerErrorCode(rawValue: 6)
    /// The body checksum did not match.
    public static let badBodyChecksum = ServerErrorCode(rawValue: 7)
    /// The operation is not one a client may call.
    public static let unknownOperation = ServerErrorCode(rawValue: 8)
    /// The body size or event count does not fit the operation.
    public static let badBodySize = ServerErrorCode(rawValue: 9)
    /// More events than the protocol's batch limit.
    public static let tooManyEvents = ServerErrorCode(rawValue: 10)
    /// A record could not be represented.
    public static let invalidBody = ServerErrorCode(rawValue: 11)
    /// The server's queues are full: nothing was executed; retry later.
    public static let busy = ServerErrorCode(rawValue: 12)
    /// The server is stopping: nothing was executed; retry (elsewhere).
    public static let shuttingDown = ServerErrorCode(rawValue: 13)
    /// The server failed to execute the request (for example its log could not be written).
    public static let internalError = ServerErrorCode(rawValue: 14)
    /// The ledger refused the batch as a whole (for example it is full); nothing changed.
    public static let batchRefused = ServerErrorCode(rawValue: 15)

    /// True for the codes that guarantee the request was not executed and may succeed
    /// if resent: `busy` and `shuttingDown`.
    public var isRetryable: Bool { self == .busy || self == .shuttingDown }

    /// The protocol's name of the code (`busy`, `shutting_down`, …), or its number.
    public var description: String {
        switch self {
        case .badMagic: return "bad_magic"
        case .unsupportedVersion: return "unsupported_version"
        case .badHeaderChecksum: return "bad_header_checksum"
        case .frameTooLarge: return "frame_too_large"
        case .truncatedFrame: return "truncated_frame"
        case .invalidHeader: return "invalid_header"
        case .badBodyChecksum: return "bad_body_checksum"
        case .unknownOperation: return "unknown_operation"
        case .badBodySize: return "bad_body_size"
        case .tooManyEvents: return "too_many_events"
        case .invalidBody: return "invalid_body"
        case .busy: return "busy"
        case .shuttingDown: return "shutting_down"
        case .internalError: return "internal_error"
        case .batchRefused: return "batch_refused"
        default: return "\(rawValue)"
        }
    }
}
