#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The keys tokens are verified with: an HS256 shared secret and/or public keys (from a
/// PEM file or a JWKS file, as Keycloak publishes them at `.../protocol/openid-connect/certs`).
package struct TokenKeys: Sendable {
    /// One public key; `keyID` nil matches any `kid`.
    package struct PublicKey: Sendable {
        package var keyID: String?
        /// The JWK's `alg` when it names one; nil: any algorithm of the key's kind.
        package var algorithm: JWTAlgorithm?
        package var key: CryptoKey
    }

    /// The HS256 secret (at least 32 bytes).
    package var secret: [UInt8]?
    package var publicKeys: [PublicKey]

    /// The shortest HS256 secret accepted (RFC 7518 3.2: at least the hash size).
    package static let minimumSecretBytes = 32

    package init(secret: [UInt8]? = nil, publicKeys: [PublicKey] = []) {
        self.secret = secret
        self.publicKeys = publicKeys
    }

    /// The keys that may verify a token with `algorithm` and `keyID`.
    package func candidates(_ algorithm: JWTAlgorithm, keyID: String?) -> [CryptoKey] {
        let kind: CryptoKey.Kind = algorithm == .rs256 ? .rsa : .p256
        return publicKeys.filter { entry in
            entry.key.kind == kind && (entry.algorithm == nil || entry.algorithm == algorithm)
                && (keyID == nil || entry.keyID == nil || entry.keyID == keyID)
        }.map(\.key)
    }

    /// The secret in `path`: its bytes, with one trailing newline dropped (as `echo`
    /// leaves it). Shorter than 32 bytes is refused.
    package static func secret(file path: String) throws(AuthError) -> [UInt8] {
        var bytes = try readFile(path)
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard bytes.count >= minimumSecretBytes else {
            throw AuthError(.badKeyFile, "\(path): an HS256 secret of \(bytes.count) bytes; at least \(minimumSecretBytes) (openssl rand -hex 32)")
        }
        return bytes
    }

    /// The public key (or certificate) in the PEM file `path`.
    package static func publicKey(pemFile path: String) throws(AuthError) -> PublicKey {
        let text = String(decoding: try readFile(path), as: UTF8.self)
        do {
            return PublicKey(keyID: nil, algorithm: nil, key: try CryptoKey.publicKey(pem: text))
        } catch {
            throw AuthError(.badKeyFile, "\(path): \(error.detail)")
        }
    }

    /// The signing keys of the JWKS file `path` (`{"keys":[...]}`): RSA and EC P-256 keys
    /// whose `use` is absent or `sig`. Keys of other types or uses (Keycloak also lists
    /// `RSA-OAEP` encryption keys) are skipped; a file with no usable key is an error.
    package static func publicKeys(jwksFile path: String) throws(AuthError) -> [PublicKey] {
        let bytes = try readFile(path)
        do {
            return try publicKeys(jwks: bytes)
        } catch {
            throw AuthError(.badKeyFile, "\(path): \(error.detail)")
        }
    }

    /// The signing keys of a JWKS document.
    package static func publicKeys(jwks bytes: [UInt8]) throws(AuthError) -> [PublicKey] {
        guard let document = AuthJSON.parse(bytes), case .array(let entries)? = document["keys"] else {
            throw AuthError(.badKeyFile, "not a JWKS document ({\"keys\":[...]})")
        }
        var keys: [PublicKey] = []
        for entry in entries {
            guard entry["use"] == nil || entry["use"]?.string == "sig" else { continue }
            let alg = entry["alg"]?.string
            let algorithm = alg.flatMap(JWTAlgorithm.init(rawValue:))
            if alg != nil && (algorithm == nil || algorithm == .hs256) { continue }
            let kid = entry["kid"]?.string
            func field(_ name: String) throws(AuthError) -> [UInt8] {
                guard let text = entry[name]?.string, let value = Base64URL.decode(text), !value.isEmpty else {
                    throw AuthError(.badKeyFile, "key \(kid ?? "?"): `\(name)` is missing or not base64url")
                }
                return value
            }
            switch entry["kty"]?.string {
            case "RSA":
                let key = try CryptoKey.rsa(modulus: try field("n"), exponent: try field("e"))
                keys.append(PublicKey(keyID: kid, algorithm: algorithm, key: key))
            case "EC":
                guard entry["crv"]?.string == "P-256" else { continue }
                let key = try CryptoKey.p256(x: try field("x"), y: try field("y"))
                keys.append(PublicKey(keyID: kid, algorithm: algorithm, key: key))
            default:
                continue
            }
        }
        guard !keys.isEmpty else { throw AuthError(.badKeyFile, "no RSA or EC P-256 signing key in the JWKS") }
        return keys
    }

    /// The bytes of `path` (at most 1 MiB: key files are small).
    package static func readFile(_ path: String) throws(AuthError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AuthError(.badKeyFile, "\(path): cannot be opened (errno \(errno))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 14)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw AuthError(.badKeyFile, "\(path): read failed (errno \(errno))") }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= 1 << 20 else { throw AuthError(.badKeyFile, "\(path): larger than 1 MiB") }
        }
        return bytes
    }
}
