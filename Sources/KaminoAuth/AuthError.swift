/// Why a token was refused, or why the authentication settings cannot be used.
///
/// The code is what the audit log and the metrics record; `detail` is for humans (it never
/// holds the token itself).
package struct AuthError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    package enum Code: String, Sendable, CaseIterable {
        /// No token (an empty `authenticate` body, or a request before `authenticate`).
        case missingToken = "missing_token"
        /// Not three base64url parts of JSON objects, or a claim of the wrong type.
        case malformed
        /// `alg` is `none`, unknown, or one the configured keys cannot verify.
        case unsupportedAlgorithm = "unsupported_algorithm"
        /// No configured key has the token's `kid` (or fits its `alg`).
        case unknownKey = "unknown_key"
        /// The signature does not verify.
        case badSignature = "bad_signature"
        /// `exp` is in the past (beyond the leeway), or missing.
        case expired
        /// `nbf` is in the future (beyond the leeway).
        case notYetValid = "not_yet_valid"
        /// `aud` does not name the configured audience.
        case wrongAudience = "wrong_audience"
        /// `iss` is not the configured issuer.
        case wrongIssuer = "wrong_issuer"
        /// A key, secret or JWKS file cannot be read or used (configuration, not a token).
        case badKeyFile = "bad_key_file"
    }

    package let code: Code
    package let detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { "\(code.rawValue): \(detail)" }
}
