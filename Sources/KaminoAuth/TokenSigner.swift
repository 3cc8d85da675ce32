/// Makes signed JWTs: for tests, benchmarks and `kamino token` (development). A
/// production deployment gets its tokens from its identity provider (Keycloak, ...).
package struct TokenSigner: Sendable {
    private enum Key: Sendable {
        case secret([UInt8])
        case privateKey(CryptoKey)
    }

    private let key: Key
    package let algorithm: JWTAlgorithm
    package let keyID: String?

    /// An HS256 signer with `secret`.
    package init(secret: [UInt8]) {
        key = .secret(secret)
        algorithm = .hs256
        keyID = nil
    }

    /// An RS256 (RSA key) or ES256 (P-256 key) signer with the private key in `pem`.
    package init(privateKeyPEM pem: String, keyID: String? = nil) throws(AuthError) {
        let privateKey = try CryptoKey.privateKey(pem: pem)
        key = .privateKey(privateKey)
        algorithm = privateKey.kind == .rsa ? .rs256 : .es256
        self.keyID = keyID
    }

    /// A token of `claims` (a JSON object's text); `headerAlgorithm` overrides `alg` in the
    /// header (tests of refused algorithms).
    package func sign(claimsJSON claims: String, headerAlgorithm: String? = nil) throws(AuthError) -> String {
        var header = "{\"alg\":\"\(headerAlgorithm ?? algorithm.rawValue)\",\"typ\":\"JWT\""
        if let keyID { header += ",\"kid\":\"\(keyID)\"" }
        header += "}"
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature: [UInt8]
        switch key {
        case .secret(let secret): signature = HMACSHA256.mac(key: secret, data: Array(input.utf8))
        case .privateKey(let privateKey): signature = try privateKey.sign(Array(input.utf8))
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// The claims JSON of a typical token: `sub`, `exp` = now + `lifetime`, optional
    /// `aud`, `iss`, rights and ledgers (under the default claim names), `nbf`.
    package static func claims(
        subject: String, rights: [String], ledgers: [UInt32]? = nil, audience: String? = nil, issuer: String? = nil,
        now: Int64, lifetime: Int64 = 3600, notBefore: Int64? = nil
    ) -> String {
        var fields = ["\"sub\":\"\(subject)\"", "\"exp\":\(now + lifetime)", "\"iat\":\(now)"]
        if let audience { fields.append("\"aud\":\"\(audience)\"") }
        if let issuer { fields.append("\"iss\":\"\(issuer)\"") }
        if let notBefore { fields.append("\"nbf\":\(notBefore)") }
        fields.append("\"\(TokenVerifier.defaultRightsClaim)\":[" + rights.map { "\"\($0)\"" }.joined(separator: ",") + "]")
        if let ledgers { fields.append("\"\(TokenVerifier.defaultLedgersClaim)\":[" + ledgers.map(String.init).joined(separator: ",") + "]") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
