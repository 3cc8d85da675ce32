/// The JWS algorithms Kamino accepts. Anything else (`none`, HS384, PS256, ...) is refused.
package enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// HMAC-SHA256 with the shared secret.
    case hs256 = "HS256"
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA keys of 2048 bits or more).
    case rs256 = "RS256"
    /// ECDSA P-256 with SHA-256.
    case es256 = "ES256"
}

/// A JWT in compact serialization, split and decoded but not yet verified.
package struct CompactJWT: Sendable {
    /// The largest token accepted, in bytes (Keycloak's access tokens are a few KiB).
    package static let maxSize = 16 * 1024

    /// The JOSE header.
    package let header: AuthJSON
    /// The claims set.
    package let claims: AuthJSON
    /// `alg` of the header.
    package let algorithm: JWTAlgorithm
    /// `kid` of the header, when present.
    package let keyID: String?
    /// The bytes the signature covers: `base64url(header) "." base64url(claims)`.
    package let signingInput: [UInt8]
    /// The decoded signature.
    package let signature: [UInt8]

    /// Splits and decodes `token` (its ASCII bytes). Throws `missingToken` for an empty
    /// token, `malformed` for anything that is not three base64url parts of JSON objects,
    /// and `unsupportedAlgorithm` for an `alg` outside `JWTAlgorithm` (`none` included).
    package init(_ token: [UInt8]) throws(AuthError) {
        guard !token.isEmpty else { throw AuthError(.missingToken, "no token") }
        guard token.count <= Self.maxSize else {
            throw AuthError(.malformed, "a token of \(token.count) bytes; at most \(Self.maxSize)")
        }
        let dots = token.indices.filter { token[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else { throw AuthError(.malformed, "not three dot-separated parts (JWS compact)") }
        let headerPart = token[..<dots[0]]
        let claimsPart = token[(dots[0] + 1)..<dots[1]]
        let signaturePart = token[(dots[1] + 1)...]
        guard let headerBytes = Base64URL.decode(headerPart), let claimsBytes = Base64URL.decode(claimsPart),
            let signature = Base64URL.decode(signaturePart)
        else { throw AuthError(.malformed, "a part is not base64url") }
        guard let header = AuthJSON.parse(headerBytes), case .object = header else {
            throw AuthError(.malformed, "the header is not a JSON object")
        }
        guard let claims = AuthJSON.parse(claimsBytes), case .object = claims else {
            throw AuthError(.malformed, "the claims are not a JSON object")
        }
        guard let alg = header["alg"]?.string else { throw AuthError(.malformed, "the header has no alg") }
        guard let algorithm = JWTAlgorithm(rawValue: alg) else {
            throw AuthError(.unsupportedAlgorithm, "alg \(String(alg.prefix(16))) is not HS256, RS256 or ES256")
        }
        // Critical extensions this verifier does not understand must be refused (RFC 7515 4.1.11).
        if header["crit"] != nil { throw AuthError(.unsupportedAlgorithm, "the header has crit extensions") }
        switch header["kid"] {
        case nil: keyID = nil
        case .string(let kid)?: keyID = kid
        default: throw AuthError(.malformed, "kid is not a string")
        }
        self.header = header
        self.claims = claims
        self.algorithm = algorithm
        self.signingInput = Array(token[..<dots[1]])
        self.signature = signature
    }
}
