import KaminoAuth
import Testing

/// The verifier against tokens made at test time: HS256 with a secret, RS256 and ES256
/// with keys from the `openssl` command line, as PEM files and as a JWKS.
@Suite struct TokenVerifierTests {
    static let now: Int64 = 1_800_000_000
    let secret = Array("0123456789abcdef0123456789abcdef-secret".utf8)

    func hsVerifier(audience: String? = "kamino", issuer: String? = "https://idp.example/realms/bank") -> TokenVerifier {
        TokenVerifier(keys: TokenKeys(secret: secret), audience: audience, issuer: issuer)
    }

    func claims(rights: [String] = ["read", "write"], ledgers: [UInt32]? = nil, lifetime: Int64 = 600, nbf: Int64? = nil,
                audience: String? = "kamino", issuer: String? = "https://idp.example/realms/bank") -> String {
        TokenSigner.claims(subject: "alice", rights: rights, ledgers: ledgers, audience: audience, issuer: issuer,
                           now: Self.now, lifetime: lifetime, notBefore: nbf)
    }

    func verify(_ verifier: TokenVerifier, _ token: String, now: Int64 = Self.now) throws(AuthError) -> Principal {
        try verifier.verify(Array(token.utf8), now: now)
    }

    func refusal(_ verifier: TokenVerifier, _ token: String, now: Int64 = Self.now) -> AuthError.Code? {
        do {
            _ = try verify(verifier, token, now: now)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func hs256TokenGivesItsRightsAndLedgers() throws {
        let token = try TokenSigner(secret: secret).sign(claimsJSON: claims(rights: ["read", "import", "dance"], ledgers: [7, 9]))
        let principal = try verify(hsVerifier(), token)
        #expect(principal.subject == "alice")
        #expect(principal.rights == [.read, .import])
        #expect(principal.ledgers == [7, 9])
        #expect(principal.expiresAt == Self.now + 600)
        #expect(principal.allows(ledger: 7) && !principal.allows(ledger: 8))
    }

    @Test func expiredAndNotYetValidTokensAreRefusedBeyondTheLeeway() throws {
        let signer = TokenSigner(secret: secret)
        let expired = try signer.sign(claimsJSON: claims(lifetime: -120))
        #expect(refusal(hsVerifier(), expired) == .expired)
        // Within the 60 s leeway: accepted.
        let justExpired = try signer.sign(claimsJSON: claims(lifetime: -30))
        #expect(refusal(hsVerifier(), justExpired) == nil)
        let early = try signer.sign(claimsJSON: claims(nbf: Self.now + 300))
        #expect(refusal(hsVerifier(), early) == .notYetValid)
        #expect(refusal(hsVerifier(), early, now: Self.now + 301) == nil)
        let noExp = try signer.sign(claimsJSON: "{\"sub\":\"a\",\"aud\":\"kamino\",\"iss\":\"https://idp.example/realms/bank\"}")
        #expect(refusal(hsVerifier(), noExp) == .expired)
    }

    @Test func wrongSecretAudienceOrIssuerIsRefused() throws {
        let other = TokenSigner(secret: Array("another-secret-of-32-bytes-or-more!!".utf8))
        #expect(refusal(hsVerifier(), try other.sign(claimsJSON: claims())) == .badSignature)
        let signer = TokenSigner(secret: secret)
        #expect(refusal(hsVerifier(), try signer.sign(claimsJSON: claims(audience: "other"))) == .wrongAudience)
        #expect(refusal(hsVerifier(), try signer.sign(claimsJSON: claims(audience: nil))) == .wrongAudience)
        #expect(refusal(hsVerifier(), try signer.sign(claimsJSON: claims(issuer: "https://evil.example"))) == .wrongIssuer)
        // An audience array naming Kamino is accepted (Keycloak lists several).
        let arrayAud = "{\"sub\":\"a\",\"exp\":\(Self.now + 60),\"aud\":[\"account\",\"kamino\"],\"iss\":\"https://idp.example/realms/bank\"}"
        #expect(refusal(hsVerifier(), try signer.sign(claimsJSON: arrayAud)) == nil)
        // Nothing configured: aud and iss are not checked.
        #expect(refusal(hsVerifier(audience: nil, issuer: nil), try signer.sign(claimsJSON: claims(audience: "x", issuer: "y"))) == nil)
    }

    @Test func algNoneAndUnknownAlgorithmsAreRefused() throws {
        let signer = TokenSigner(secret: secret)
        let good = try signer.sign(claimsJSON: claims())
        let parts = good.split(separator: ".").map(String.init)
        let noneHeader = Base64URL.encode(Array("{\"alg\":\"none\",\"typ\":\"JWT\"}".utf8))
        #expect(refusal(hsVerifier(), noneHeader + "." + parts[1] + ".") == .unsupportedAlgorithm)
        #expect(refusal(hsVerifier(), noneHeader + "." + parts[1] + "." + parts[2]) == .unsupportedAlgorithm)
        #expect(refusal(hsVerifier(), try signer.sign(claimsJSON: claims(), headerAlgorithm: "HS512")) == .unsupportedAlgorithm)
        // A header that names RS256 over an HMAC signature finds no key (no public key is configured).
        #expect(refusal(hsVerifier(), try signer.sign(claimsJSON: claims(), headerAlgorithm: "RS256")) == .unknownKey)
        let crit = Base64URL.encode(Array("{\"alg\":\"HS256\",\"crit\":[\"x\"]}".utf8))
        #expect(refusal(hsVerifier(), crit + "." + parts[1] + "." + parts[2]) == .unsupportedAlgorithm)
    }

    @Test func missingAndMalformedTokensAreRefused() throws {
        let v = hsVerifier()
        #expect(refusal(v, "") == .missingToken)
        for bad in ["abc", "a.b", "a.b.c.d", "!!.e30.", "e30.e30", "e30.e30.", "W10.e30.", "e30.W10.",
                    "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.", "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxLCJhIjoyfQ.",
                    String(repeating: "A", count: 20_000)] {
            let code = refusal(v, bad)
            #expect(code == .malformed || code == .unsupportedAlgorithm, "\(bad.prefix(40)): \(String(describing: code))")
        }
        // Claims of the wrong type.
        let signer = TokenSigner(secret: secret)
        let badRights = "{\"exp\":\(Self.now + 60),\"aud\":\"kamino\",\"iss\":\"https://idp.example/realms/bank\",\"kamino_rights\":\"write\"}"
        #expect(refusal(v, try signer.sign(claimsJSON: badRights)) == .malformed)
        let badLedgers = "{\"exp\":\(Self.now + 60),\"aud\":\"kamino\",\"iss\":\"https://idp.example/realms/bank\",\"kamino_ledgers\":[0]}"
        #expect(refusal(v, try signer.sign(claimsJSON: badLedgers)) == .malformed)
    }

    @Test func rs256AndEs256VerifyWithPEMAndJWKSKeys() throws {
        let keys = try TestKeys.make()
        defer { keys.remove() }
        let rsaSigner = try TokenSigner(privateKeyPEM: keys.rsaPrivate, keyID: "rsa-1")
        let ecSigner = try TokenSigner(privateKeyPEM: keys.ecPrivate, keyID: "ec-1")
        #expect(rsaSigner.algorithm == .rs256 && ecSigner.algorithm == .es256)
        let rsaToken = try rsaSigner.sign(claimsJSON: claims())
        let ecToken = try ecSigner.sign(claimsJSON: claims())

        // PEM files.
        let rsaPEM = TokenVerifier(keys: TokenKeys(publicKeys: [try TokenKeys.publicKey(pemFile: keys.rsaPublicPath)]), audience: "kamino")
        #expect(refusal(rsaPEM, rsaToken) == nil)
        #expect(refusal(rsaPEM, ecToken) == .unknownKey)
        let ecPEM = TokenVerifier(keys: TokenKeys(publicKeys: [try TokenKeys.publicKey(pemFile: keys.ecPublicPath)]), audience: "kamino")
        #expect(refusal(ecPEM, ecToken) == nil)

        // JWKS: kid selects the key; the encryption key is skipped.
        let jwks = try TokenKeys.publicKeys(jwksFile: try keys.write("jwks.json", try keys.jwks()))
        #expect(jwks.count == 2)
        let fromJWKS = TokenVerifier(keys: TokenKeys(publicKeys: jwks), audience: "kamino")
        #expect(refusal(fromJWKS, rsaToken) == nil)
        #expect(refusal(fromJWKS, ecToken) == nil)
        let unknownKid = try TokenSigner(privateKeyPEM: keys.rsaPrivate, keyID: "rsa-2").sign(claimsJSON: claims())
        #expect(refusal(fromJWKS, unknownKid) == .unknownKey)

        // A flipped signature bit, and a claims part swapped under a valid signature.
        var sig = Array(rsaToken.split(separator: ".")[2].utf8)
        sig[10] = sig[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let parts = rsaToken.split(separator: ".").map(String.init)
        #expect(refusal(fromJWKS, parts[0] + "." + parts[1] + "." + String(decoding: sig, as: UTF8.self)) == .badSignature)
        let otherClaims = Base64URL.encode(Array(claims(rights: ["admin"]).utf8))
        #expect(refusal(fromJWKS, parts[0] + "." + otherClaims + "." + parts[2]) == .badSignature)
        let ecParts = ecToken.split(separator: ".").map(String.init)
        #expect(refusal(fromJWKS, ecParts[0] + "." + otherClaims + "." + ecParts[2]) == .badSignature)

        // The RSA public key used as an HMAC secret (algorithm confusion): no secret, refused.
        let confused = TokenSigner(secret: Array(try TestKeys.text(keys.rsaPublicPath).utf8))
        #expect(refusal(fromJWKS, try confused.sign(claimsJSON: claims())) == .unsupportedAlgorithm)
    }

    @Test func keycloakStyleRolesClaimPath() throws {
        let signer = TokenSigner(secret: secret)
        let token = try signer.sign(claimsJSON: "{\"sub\":\"svc\",\"exp\":\(Self.now + 60),\"realm_access\":{\"roles\":[\"offline_access\",\"read\"]}}")
        let verifier = TokenVerifier(keys: TokenKeys(secret: secret), rightsClaim: "realm_access.roles")
        #expect(try verify(verifier, token).rights == [.read])
        // No rights claim: no rights (authenticated, allowed nothing).
        #expect(try verify(TokenVerifier(keys: TokenKeys(secret: secret)), token).rights == [])
    }

    @Test func keyFilesAreChecked() throws {
        let keys = try TestKeys.make()
        defer { keys.remove() }
        #expect(throws: AuthError.self) { try TokenKeys.secret(file: try keys.write("short", "tooshort\n")) }
        let long = try TokenKeys.secret(file: try keys.write("long", String(repeating: "x", count: 40) + "\n"))
        #expect(long.count == 40)
        #expect(throws: AuthError.self) { try TokenKeys.publicKey(pemFile: try keys.write("junk.pem", "junk")) }
        #expect(throws: AuthError.self) { try TokenKeys.publicKeys(jwksFile: try keys.write("empty.json", "{\"keys\":[]}")) }
        #expect(throws: AuthError.self) { try TokenKeys.publicKey(pemFile: "\(keys.directory)/absent.pem") }
        // A point off the curve.
        let offCurve = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\(Base64URL.encode([UInt8](repeating: 1, count: 32)))\",\"y\":\"\(Base64URL.encode([UInt8](repeating: 2, count: 32)))\"}]}"
        #expect(throws: AuthError.self) { try TokenKeys.publicKeys(jwks: Array(offCurve.utf8)) }
    }

    @Test func base64urlIsStrict() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.decode("AQID") == [1, 2, 3])
        #expect(Base64URL.decode("AQI") == [1, 2])
        #expect(Base64URL.decode("AQJ") == nil)  // non-zero leftover bits
        #expect(Base64URL.decode("AQ==") == nil)
        #expect(Base64URL.decode("A+/=") == nil)
        #expect(Base64URL.decode("A") == nil)
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }
}

/// Extreme NumericDates must not trap (they are input, even when signed).
@Suite struct TokenVerifierExtremeTests {
    @Test func extremeTimesAreCheckedWithoutOverflow() throws {
        let secret = Array("0123456789abcdef0123456789abcdef-secret".utf8)
        let verifier = TokenVerifier(keys: TokenKeys(secret: secret))
        let signer = TokenSigner(secret: secret)
        let now: Int64 = 1_800_000_000
        let far = try signer.sign(claimsJSON: "{\"exp\":9223372036854775807,\"nbf\":-9223372036854775808}")
        #expect(try verifier.verify(Array(far.utf8), now: now).expiresAt == Int64.max)
        let ancient = try signer.sign(claimsJSON: "{\"exp\":-9223372036854775808}")
        do {
            _ = try verifier.verify(Array(ancient.utf8), now: now)
            Issue.record("an exp of -2^63 was accepted")
        } catch {
            #expect(error.code == .expired)
        }
        let future = try signer.sign(claimsJSON: "{\"exp\":9223372036854775807,\"nbf\":9223372036854775807}")
        #expect(throws: AuthError.self) { try verifier.verify(Array(future.utf8), now: now) }
        let huge = try signer.sign(claimsJSON: "{\"exp\":1e300}")
        #expect(throws: AuthError.self) { try verifier.verify(Array(huge.utf8), now: now) }
    }
}
