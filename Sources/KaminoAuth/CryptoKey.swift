import CKaminoCrypto

/// A public (or, for signing in tests and tools, private) key held by libcrypto
/// (an `EVP_PKEY`): RSA or EC P-256. Immutable once made, so one key verifies on many
/// threads at once (libcrypto's keys are safe for concurrent reads).
package final class CryptoKey: @unchecked Sendable {
    /// The kind of key, which decides the JWS algorithm it verifies.
    package enum Kind: Sendable, Hashable {
        case rsa
        case p256
    }

    private let pointer: OpaquePointer
    package let kind: Kind

    /// The smallest RSA modulus accepted.
    package static let minimumRSABits = 2048

    private init(taking pointer: OpaquePointer) throws(AuthError) {
        self.pointer = pointer
        switch kamino_pkey_kind(pointer) {
        case Int32(KAMINO_PKEY_RSA):
            guard kamino_pkey_bits(pointer) >= Self.minimumRSABits else {
                kamino_pkey_free(pointer)
                throw AuthError(.badKeyFile, "an RSA key of \(kamino_pkey_bits(pointer)) bits; at least \(Self.minimumRSABits)")
            }
            kind = .rsa
        case Int32(KAMINO_PKEY_EC_P256):
            kind = .p256
        default:
            kamino_pkey_free(pointer)
            throw AuthError(.badKeyFile, "a key that is neither RSA nor EC P-256")
        }
    }

    deinit { kamino_pkey_free(pointer) }

    /// The public key in PEM text (a public key, an RSA public key or a certificate).
    package static func publicKey(pem: String) throws(AuthError) -> CryptoKey {
        var text = pem
        let made = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { kamino_pkey_public_from_pem($0.baseAddress, $0.count) }
        }
        guard let made else { throw AuthError(.badKeyFile, "no public key or certificate in the PEM text") }
        return try CryptoKey(taking: made)
    }

    /// The private key in PEM text (signing, for tests and tools).
    package static func privateKey(pem: String) throws(AuthError) -> CryptoKey {
        var text = pem
        let made = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { kamino_pkey_private_from_pem($0.baseAddress, $0.count) }
        }
        guard let made else { throw AuthError(.badKeyFile, "no private key in the PEM text") }
        return try CryptoKey(taking: made)
    }

    /// An RSA public key from a JWK's modulus and exponent (big-endian bytes).
    package static func rsa(modulus: [UInt8], exponent: [UInt8]) throws(AuthError) -> CryptoKey {
        let made = modulus.withUnsafeBufferPointer { n in
            exponent.withUnsafeBufferPointer { e in
                kamino_pkey_rsa_from_jwk(n.baseAddress, n.count, e.baseAddress, e.count)
            }
        }
        guard let made else { throw AuthError(.badKeyFile, "an RSA JWK whose n and e libcrypto refuses") }
        return try CryptoKey(taking: made)
    }

    /// A P-256 public key from a JWK's coordinates (32 big-endian bytes each).
    package static func p256(x: [UInt8], y: [UInt8]) throws(AuthError) -> CryptoKey {
        guard x.count == 32, y.count == 32 else { throw AuthError(.badKeyFile, "a P-256 JWK's x and y are 32 bytes each") }
        let made = x.withUnsafeBufferPointer { xs in
            y.withUnsafeBufferPointer { ys in kamino_pkey_p256_from_jwk(xs.baseAddress, ys.baseAddress) }
        }
        guard let made else { throw AuthError(.badKeyFile, "a P-256 JWK whose point is not on the curve") }
        return try CryptoKey(taking: made)
    }

    /// True when `signature` signs `data` under this key with `algorithm` (RS256 for RSA
    /// keys, ES256 for P-256 keys; any other pairing is false).
    package func verify(_ algorithm: JWTAlgorithm, data: [UInt8], signature: [UInt8]) -> Bool {
        data.withUnsafeBufferPointer { d in
            signature.withUnsafeBufferPointer { s in
                switch (algorithm, kind) {
                case (.rs256, .rsa): return kamino_verify_rs256(pointer, d.baseAddress, d.count, s.baseAddress, s.count) == 1
                case (.es256, .p256): return kamino_verify_es256(pointer, d.baseAddress, d.count, s.baseAddress, s.count) == 1
                default: return false
                }
            }
        }
    }

    /// Signs `data` (a private key): RS256 for RSA, ES256 (raw r||s) for P-256.
    package func sign(_ data: [UInt8]) throws(AuthError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1024)
        let written = data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                switch kind {
                case .rsa: return kamino_sign_rs256(pointer, d.baseAddress, d.count, o.baseAddress, o.count)
                case .p256: return kamino_sign_es256(pointer, d.baseAddress, d.count, o.baseAddress)
                }
            }
        }
        guard written > 0 else { throw AuthError(.badKeyFile, "libcrypto could not sign (not a private key?)") }
        return Array(out[0..<written])
    }
}

/// HMAC-SHA256 through libcrypto.
package enum HMACSHA256 {
    /// The 32-byte MAC of `data` under `key`.
    package static func mac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    kamino_hmac_sha256(k.baseAddress, k.count, d.baseAddress, d.count, o.baseAddress)
                }
            }
        }
        // HMAC-SHA256 fails only when libcrypto cannot allocate.
        precondition(ok == 1, "libcrypto's HMAC-SHA256 failed")
        return out
    }

    /// Compares two MACs in constant time.
    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in kamino_equal_ct(x.baseAddress, y.baseAddress, x.count) == 1 }
        }
    }
}
