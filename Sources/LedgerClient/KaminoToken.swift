/// The token a `KaminoClient` presents to a server that requires authentication
/// (docs/security.md): a JWT its identity provider issued, sent in an `authenticate`
/// message on every connection the client opens, before anything else.
///
/// ```swift
/// var options = KaminoClientOptions()
/// options.token = .fixed(jwt)                                  // one token
/// options.token = .provider { try await identity.freshToken() } // asked on every (re)connect
/// ```
public struct KaminoToken: Sendable, Hashable {
    private let source: Source
    /// Tells providers apart (closures are not comparable).
    private let identity: Identity

    private enum Source: Sendable {
        case fixed(String)
        case provider(@Sendable () async throws -> String)
    }

    private final class Identity: Sendable {}

    /// Always the same token (for example read from a file at start).
    public static func fixed(_ token: String) -> KaminoToken {
        KaminoToken(source: .fixed(token), identity: Identity())
    }

    /// A token asked for on every connection the client opens, so that a client that
    /// outlives its tokens' `exp` presents a fresh one when it reconnects (the server
    /// closes a connection whose token expired; the client reconnects).
    public static func provider(_ token: @escaping @Sendable () async throws -> String) -> KaminoToken {
        KaminoToken(source: .provider(token), identity: Identity())
    }

    /// The token to present now.
    func current() async throws -> String {
        switch source {
        case .fixed(let token): return token
        case .provider(let provide): return try await provide()
        }
    }

    /// Two fixed tokens are equal when their text is; a provider equals only itself (the
    /// value ``provider(_:)`` returned, and its copies).
    public static func == (a: KaminoToken, b: KaminoToken) -> Bool {
        if case .fixed(let x) = a.source, case .fixed(let y) = b.source { return x == y }
        return a.identity === b.identity
    }

    /// Hashes a fixed token's text, or a provider's identity (consistent with `==`).
    public func hash(into hasher: inout Hasher) {
        if case .fixed(let token) = source { hasher.combine(token) } else { hasher.combine(ObjectIdentifier(identity)) }
    }
}
