import Glibc
package import KaminoAuth

/// How a primary started with `--auth jwt` checks the token in a follower's `hello`
/// (docs/security.md, "Replication"): verified by the client port's `TokenVerifier`, it
/// must carry the `replicate` right. A follower without one is refused `unauthorized`.
package struct FollowerAuthentication: Sendable {
    /// A follower refused: its address, the token's unverified `sub` (nil when unknown),
    /// the reason (an `AuthError` code, or `forbidden` for a token without `replicate`)
    /// and a detail for the audit log (never the token).
    package typealias Refusal = @Sendable (_ peer: String, _ subject: String?, _ reason: String, _ detail: String) -> Void

    package let verifier: TokenVerifier
    /// Told of every refused follower (the server's audit log and metrics).
    package let onRefusal: Refusal

    package init(verifier: TokenVerifier, onRefusal: @escaping Refusal) {
        self.verifier = verifier
        self.onRefusal = onRefusal
    }

    /// Nil when `token` verifies now and holds `replicate`; else the reason (reported to
    /// `onRefusal`) and the text for the follower's `refuse`.
    func check(_ token: [UInt8], peer: String) -> String? {
        let subject = TokenVerifier.unverifiedSubject(token)
        guard !token.isEmpty else {
            onRefusal(peer, nil, AuthError.Code.missingToken.rawValue, "the follower's hello carries no token")
            return "token refused: \(AuthError.Code.missingToken.rawValue)"
        }
        do {
            let principal = try verifier.verify(token, now: Self.now())
            guard principal.rights.contains(.replicate) else {
                onRefusal(peer, principal.subject, "forbidden", "the token lacks the replicate right (has \(principal.rights))")
                return "forbidden: the token lacks the replicate right"
            }
            return nil
        } catch {
            onRefusal(peer, subject, error.code.rawValue, error.detail)
            return "token refused: \(error.code.rawValue)"
        }
    }

    /// Wall-clock seconds (token times are wall-clock).
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
