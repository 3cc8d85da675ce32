/// Checks a JWT and turns it into a `Principal` (docs/security.md, "Authentication").
///
/// In order: the compact form and `alg` (HS256, RS256 or ES256 only; `none` is refused),
/// the key (`kid` selects among public keys; HS256 needs the shared secret), the signature
/// (libcrypto), then `exp` (required), `nbf`, `iss` and `aud` with `leewaySeconds` of
/// clock skew, then the rights and ledgers claims.
package struct TokenVerifier: Sendable {
    /// The verification keys; shared by every copy of this verifier and replaceable while
    /// the server runs (`TokenKeyRing.reload`).
    package let keyRing: TokenKeyRing
    /// The keys in use now.
    package var keys: TokenKeys { keyRing.keys }
    /// The required `aud` (a string, or one element of an array); nil: not checked.
    package var audience: String?
    /// The required `iss`; nil: not checked.
    package var issuer: String?
    /// Clock skew tolerated on `exp` and `nbf`.
    package var leewaySeconds: Int64
    /// The claim holding the rights, an array of names; a dotted path reaches into
    /// objects (Keycloak: `realm_access.roles`).
    package var rightsClaim: String
    /// The claim holding the ledgers the token is limited to (an array of integers);
    /// absent: every ledger.
    package var ledgersClaim: String

    package static let defaultRightsClaim = "kamino_rights"
    package static let defaultLedgersClaim = "kamino_ledgers"
    package static let defaultLeewaySeconds: Int64 = 60

    /// A verifier of fixed `keys` (not reloadable).
    package init(
        keys: TokenKeys, audience: String? = nil, issuer: String? = nil, leewaySeconds: Int64 = Self.defaultLeewaySeconds,
        rightsClaim: String = Self.defaultRightsClaim, ledgersClaim: String = Self.defaultLedgersClaim
    ) {
        self.init(
            keyRing: TokenKeyRing(keys), audience: audience, issuer: issuer, leewaySeconds: leewaySeconds,
            rightsClaim: rightsClaim, ledgersClaim: ledgersClaim)
    }

    /// A verifier of the keys `keyRing` holds at each `verify`.
    package init(
        keyRing: TokenKeyRing, audience: String? = nil, issuer: String? = nil, leewaySeconds: Int64 = Self.defaultLeewaySeconds,
        rightsClaim: String = Self.defaultRightsClaim, ledgersClaim: String = Self.defaultLedgersClaim
    ) {
        precondition(leewaySeconds >= 0 && leewaySeconds <= 86_400, "the leeway is a duration of at most a day")
        self.keyRing = keyRing
        self.audience = audience
        self.issuer = issuer
        self.leewaySeconds = leewaySeconds
        self.rightsClaim = rightsClaim
        self.ledgersClaim = ledgersClaim
    }

    /// The principal of `token` at `now` (seconds since the epoch), or why it is refused.
    package func verify(_ token: [UInt8], now: Int64) throws(AuthError) -> Principal {
        let jwt = try CompactJWT(token)
        try checkSignature(jwt)
        let claims = jwt.claims
        guard let expiry = claims["exp"] else { throw AuthError(.expired, "the token has no exp") }
        guard let exp = expiry.seconds else { throw AuthError(.malformed, "exp is not a NumericDate") }
        // Shift `now` (a sane wall clock), never the claims (input; `exp + leeway` could overflow).
        guard now - leewaySeconds <= exp else {
            throw AuthError(.expired, "expired \(now.subtractingReportingOverflow(exp).partialValue) s ago")
        }
        if let notBefore = claims["nbf"] {
            guard let nbf = notBefore.seconds else { throw AuthError(.malformed, "nbf is not a NumericDate") }
            guard now + leewaySeconds >= nbf else {
                throw AuthError(.notYetValid, "valid in \(nbf.subtractingReportingOverflow(now).partialValue) s")
            }
        }
        let iss = claims["iss"]?.string
        if let issuer, iss != issuer {
            throw AuthError(.wrongIssuer, "iss is \(iss.map { "`\(String($0.prefix(128)))`" } ?? "absent")")
        }
        if let audience {
            let matches: Bool
            switch claims["aud"] {
            case .string(let aud)?: matches = aud == audience
            case .array(let auds)?: matches = auds.contains(.string(audience))
            default: matches = false
            }
            guard matches else { throw AuthError(.wrongAudience, "aud does not name \(audience)") }
        }
        let subject: String
        switch claims["sub"] {
        case nil: subject = "-"
        case .string(let s)?: subject = s
        default: throw AuthError(.malformed, "sub is not a string")
        }
        return Principal(
            subject: subject, issuer: iss ?? "", rights: try rights(claims), ledgers: try ledgers(claims), expiresAt: exp)
    }

    /// The `sub` of `token` without verifying it (for the audit log of a refused token;
    /// never trusted for anything else). Cut to 128 characters.
    package static func unverifiedSubject(_ token: [UInt8]) -> String? {
        guard let jwt = try? CompactJWT(token), let sub = jwt.claims["sub"]?.string else { return nil }
        return String(sub.prefix(128))
    }

    private func checkSignature(_ jwt: CompactJWT) throws(AuthError) {
        let keys = keyRing.keys  // one consistent set for this token, even during a reload
        switch jwt.algorithm {
        case .hs256:
            guard let secret = keys.secret else {
                throw AuthError(.unsupportedAlgorithm, "HS256 but no shared secret is configured")
            }
            guard HMACSHA256.equal(HMACSHA256.mac(key: secret, data: jwt.signingInput), jwt.signature) else {
                throw AuthError(.badSignature, "the HS256 signature does not verify")
            }
        case .rs256, .es256:
            let candidates = keys.candidates(jwt.algorithm, keyID: jwt.keyID)
            guard !candidates.isEmpty else {
                throw AuthError(
                    .unknownKey, "no \(jwt.algorithm.rawValue) key" + (jwt.keyID.map { " with kid \(String($0.prefix(64)))" } ?? ""))
            }
            guard candidates.contains(where: { $0.verify(jwt.algorithm, data: jwt.signingInput, signature: jwt.signature) }) else {
                throw AuthError(.badSignature, "the \(jwt.algorithm.rawValue) signature does not verify")
            }
        }
    }

    /// The value at the dotted `path` of `claims`.
    private static func claim(_ claims: AuthJSON, _ path: String) -> AuthJSON? {
        var value: AuthJSON? = claims
        for part in path.split(separator: ".") { value = value?[String(part)] }
        return value
    }

    private func rights(_ claims: AuthJSON) throws(AuthError) -> Rights {
        guard let value = Self.claim(claims, rightsClaim) else { return [] }
        guard case .array(let names) = value else { throw AuthError(.malformed, "\(rightsClaim) is not an array") }
        var rights: Rights = []
        for name in names {
            // Names Kamino does not know (other applications' roles) are ignored.
            if let n = name.string, let right = Rights(name: n) { rights.insert(right) }
        }
        return rights
    }

    private func ledgers(_ claims: AuthJSON) throws(AuthError) -> Set<UInt32>? {
        guard let value = Self.claim(claims, ledgersClaim) else { return nil }
        guard case .array(let items) = value else { throw AuthError(.malformed, "\(ledgersClaim) is not an array") }
        var ledgers: Set<UInt32> = []
        for item in items {
            guard case .number(let text) = item, let ledger = UInt32(text), ledger > 0 else {
                throw AuthError(.malformed, "\(ledgersClaim) holds something that is not a ledger number (1 to 2^32-1)")
            }
            ledgers.insert(ledger)
        }
        return ledgers
    }
}
