/// A TLS failure: a bad configuration, a failed handshake, a peer that does not speak TLS,
/// or a connection that ended without close_notify.
package struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    package enum Code: String, Sendable, Equatable {
        /// Certificates, keys or CA files cannot be used (missing, unreadable, mismatched).
        case configuration
        /// The handshake failed: no common version or suite, a certificate that does not
        /// verify (unknown CA, wrong name, expired, missing client certificate).
        case handshakeFailed
        /// The peer's first bytes are not a TLS record (a plaintext client or server).
        case plaintextPeer
        /// A record failed to decrypt or parse, or the peer sent a fatal alert.
        case protocolError
        /// The peer closed the connection without close_notify, possibly mid-record.
        case truncated
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "tls \(code.rawValue): \(message)" }
}
