import Synchronization

/// The files a server's verification keys are read from (`auth_hs256_secret_file`,
/// `auth_jwks_file`, `auth_public_key_file`), so that they can be read again.
package struct TokenKeySources: Sendable, Equatable {
    package var secretFile: String?
    package var jwksFile: String?
    package var publicKeyFile: String?

    package init(secretFile: String? = nil, jwksFile: String? = nil, publicKeyFile: String? = nil) {
        self.secretFile = secretFile
        self.jwksFile = jwksFile
        self.publicKeyFile = publicKeyFile
    }

    /// True when no file is named.
    package var isEmpty: Bool { secretFile == nil && jwksFile == nil && publicKeyFile == nil }

    /// Reads every named file.
    /// - Throws: the first file that cannot be used (named in the detail), or no key at all.
    package func load() throws(AuthError) -> TokenKeys {
        func named<T>(_ path: String, _ body: () throws(AuthError) -> T) throws(AuthError) -> T {
            do { return try body() } catch { throw AuthError(error.code, "\(path): \(error.detail)") }
        }
        var keys = TokenKeys()
        if let path = secretFile { keys.secret = try named(path) { () throws(AuthError) in try TokenKeys.secret(file: path) } }
        if let path = jwksFile {
            keys.publicKeys += try named(path) { () throws(AuthError) in try TokenKeys.publicKeys(jwksFile: path) }
        }
        if let path = publicKeyFile {
            keys.publicKeys.append(try named(path) { () throws(AuthError) in try TokenKeys.publicKey(pemFile: path) })
        }
        guard keys.secret != nil || !keys.publicKeys.isEmpty else {
            throw AuthError(.badKeyFile, "no verification key: name a secret, JWKS or public key file")
        }
        return keys
    }
}

/// A server's verification keys, replaceable while it runs: `kill -HUP` re-reads the key
/// files (an identity provider such as Keycloak rotates its signing keys), and every
/// copy of the `TokenVerifier` that holds this ring (client port, replication port) sees
/// the new keys at its next `verify`. Tokens already accepted stay accepted until their
/// `exp`.
package final class TokenKeyRing: Sendable {
    private let current: Mutex<TokenKeys>
    /// Where the keys were read from; nil for keys given in memory (not reloadable).
    package let sources: TokenKeySources?

    package init(_ keys: TokenKeys, sources: TokenKeySources? = nil) {
        precondition(sources?.isEmpty != true, "sources name at least one file")
        current = Mutex(keys)
        self.sources = sources
    }

    /// The keys in use.
    package var keys: TokenKeys { current.withLock { $0 } }

    /// Reads the files again and uses what they hold from now on.
    /// - Returns: the new keys; nil when the ring has no files.
    /// - Throws: when a file cannot be used; the keys in use stay.
    @discardableResult
    package func reload() throws(AuthError) -> TokenKeys? {
        guard let sources else { return nil }
        let fresh = try sources.load()
        current.withLock { $0 = fresh }
        return fresh
    }
}
