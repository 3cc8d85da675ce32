import ArgumentParser

/// The authentication and limit flags of `kamino serve` and `kamino follow`
/// (`SecuritySettings`; docs/security.md and config/README.md).
struct SecurityOptions: ParsableArguments {
    @Option(help: "Authentication: off (default; loopback listeners only) or jwt (clients authenticate with a JWT).")
    var auth: String?
    @Option(help: "HS256: file holding the shared secret (at least 32 bytes; openssl rand -hex 32).")
    var authHs256SecretFile: String?
    @Option(help: "RS256/ES256: a JWKS file of public keys (as Keycloak publishes them); the token's kid selects one.")
    var authJwksFile: String?
    @Option(help: "RS256/ES256: a PEM file with one public key or certificate.")
    var authPublicKeyFile: String?
    @Option(help: "The aud a token must name (default: not checked).")
    var authAudience: String?
    @Option(help: "The iss a token must carry (default: not checked).")
    var authIssuer: String?
    @Option(help: "Clock skew tolerated on exp and nbf, in seconds (default 60).")
    var authLeewaySeconds: String?
    @Option(help: "The claim holding the rights, dotted for nested objects (default kamino_rights; Keycloak: realm_access.roles).")
    var authRightsClaim: String?
    @Option(help: "The claim limiting a token to ledgers (default kamino_ledgers).")
    var authLedgersClaim: String?
    @Option(help: "Client connections open at once (default 10000).")
    var maxConnections: String?
    @Option(help: "Client connections open at once from one IP address (default 1024).")
    var maxConnectionsPerAddress: String?
    @Option(help: "Seconds for a connection's first complete message, and for a started message to complete (default 10; 0: none).")
    var frameTimeoutSeconds: String?
    @Option(help: "Seconds a connection may stay silent with nothing in flight (default 300; 0: none).")
    var idleTimeoutSeconds: String?
    @Option(help: "Requests per second per token subject (per address with auth off); default 0: unlimited.")
    var rateRequestsPerSecond: String?
    @Option(help: "Events per second per token subject (per address with auth off); default 0: unlimited.")
    var rateEventsPerSecond: String?
    @Option(help: "Request bytes one connection may have in flight (default 67108864).")
    var maxRequestBytesInFlight: String?
    @Option(help: "Requests one connection may have in flight; the next is answered busy (default 256).")
    var maxRequestsInFlight: String?
    @Option(help: "Requests all client connections together may have in flight; the next is answered busy (default 4096).")
    var maxRequestsInFlightTotal: String?
    @Option(help: "A file holding the bearer token GET /metrics requires (default: none).")
    var metricsTokenFile: String?

    /// The flags given, by config key.
    var flags: [String: String] {
        [
            "auth": auth, "auth_hs256_secret_file": authHs256SecretFile, "auth_jwks_file": authJwksFile,
            "auth_public_key_file": authPublicKeyFile, "auth_audience": authAudience, "auth_issuer": authIssuer,
            "auth_leeway_seconds": authLeewaySeconds, "auth_rights_claim": authRightsClaim,
            "auth_ledgers_claim": authLedgersClaim, "max_connections": maxConnections,
            "max_connections_per_address": maxConnectionsPerAddress, "frame_timeout_seconds": frameTimeoutSeconds,
            "idle_timeout_seconds": idleTimeoutSeconds, "rate_requests_per_second": rateRequestsPerSecond,
            "rate_events_per_second": rateEventsPerSecond, "max_request_bytes_in_flight": maxRequestBytesInFlight,
            "max_requests_in_flight": maxRequestsInFlight, "max_requests_in_flight_total": maxRequestsInFlightTotal,
            "metrics_token_file": metricsTokenFile,
        ].compactMapValues { $0 }
    }
}
