import CKaminoTLS
import Synchronization

/// A server's or a client's TLS context: the certificates and policy new connections use.
/// `reload()` re-reads the files; connections made afterwards use the new certificates,
/// established ones keep theirs (each OpenSSL connection holds a reference to the context
/// it was made from).
package final class TLSContext: Sendable {
    /// Which side of the handshake connections take.
    package enum Role: Sendable { case server, client }

    package let role: Role
    package let configuration: TLSConfiguration
    private let current: Mutex<ContextHandle>

    /// - Throws: `TLSError(.configuration)` when a file is missing, unreadable or does not
    ///   match (the message names the file and OpenSSL's reason).
    package init(role: Role, configuration: TLSConfiguration) throws(TLSError) {
        self.role = role
        self.configuration = configuration
        current = Mutex(try ContextHandle(role: role, configuration: configuration))
    }

    /// Re-reads the certificate, key, CA and CRL files. On failure the context keeps serving
    /// with the certificates it had.
    package func reload() throws(TLSError) {
        let fresh = try ContextHandle(role: role, configuration: configuration)
        current.withLock { $0 = fresh }
    }

    /// A handler for a new connection. `serverName` (clients) overrides the configured one.
    package func makeHandler(serverName: String? = nil) throws(TLSError) -> TLSHandler {
        let handle = current.withLock { $0 }
        let name = serverName ?? configuration.serverName
        var error = [CChar](repeating: 0, count: 512)
        let made = name.withOptionalCString { cName in
            kamino_tls_conn_create(handle.pointer, cName, &error, error.count)
        }
        guard let connection = made else {
            throw TLSError(.configuration, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSHandler(connection: connection, isServer: role == .server)
    }
}

/// Owns one `kamino_tls_ctx`; OpenSSL contexts are safe to share between threads once
/// configured (they are only read when connections are made).
final class ContextHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(role: TLSContext.Role, configuration c: TLSConfiguration) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 1024)
        let made = c.certificateChain.withOptionalCString { cert in
            c.privateKey.withOptionalCString { key in
                c.caFile.withOptionalCString { ca in
                    c.crlFile.withOptionalCString { crl in
                        kamino_tls_ctx_create(role == .server ? 1 : 0, cert, key, ca, crl, Self.clientAuthCode(c.clientAuth),
                                              c.testOptions, &error, error.count)
                    }
                }
            }
        }
        guard let made else {
            throw TLSError(.configuration, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        pointer = made
    }

    deinit { kamino_tls_ctx_free(pointer) }

    private static func clientAuthCode(_ auth: TLSConfiguration.ClientAuth) -> Int32 {
        switch auth {
        case .none: return Int32(KAMINO_TLS_CLIENT_AUTH_NONE)
        case .optional: return Int32(KAMINO_TLS_CLIENT_AUTH_OPTIONAL)
        case .required: return Int32(KAMINO_TLS_CLIENT_AUTH_REQUIRED)
        }
    }
}

extension Optional where Wrapped == String {
    /// Calls `body` with a C string, or NULL for nil.
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let text): return text.withCString { body($0) }
        case .none: return body(nil)
        }
    }
}
