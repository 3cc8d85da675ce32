import KaminoAuth
import LedgerServer
import LedgerWire
import Logging

/// The authentication and limit settings of `kamino serve` and `kamino follow` (config
/// keys, `KAMINO_*` variables and flags, resolved with the others in `ServeSettings`;
/// docs/security.md).
///
/// Authentication is off by default, and off is allowed only while every listener
/// (client, metrics, replication) is on a loopback address: a server reachable from
/// the network must be started with `auth = "jwt"`.
struct SecuritySettings {
    /// The config keys this part owns.
    static let keys: Set<String> = [
        "auth", "auth_hs256_secret_file", "auth_jwks_file", "auth_public_key_file", "auth_audience", "auth_issuer",
        "auth_leeway_seconds", "auth_rights_claim", "auth_ledgers_claim", "max_connections",
        "max_connections_per_address", "frame_timeout_seconds", "idle_timeout_seconds", "rate_requests_per_second",
        "rate_events_per_second", "max_request_bytes_in_flight", "max_requests_in_flight",
        "max_requests_in_flight_total", "metrics_token_file",
    ]

    /// The server's settings (verifier and limits).
    var server = ServerSecurity()
    /// Requests one connection may have in flight before the next is answered `busy`.
    var maxRequestsInFlight = ServerConfiguration.defaultMaxInFlightPerConnection
    /// Requests all connections together may have in flight before the next is answered `busy`.
    var maxRequestsInFlightTotal = ServerConfiguration.defaultMaxInFlightTotal
    /// The bearer token `/metrics` requires; nil: none.
    var metricsToken: String?
    /// Resolved values for the start-up log (never a secret).
    var summary: [(String, String)] = []

    /// Resolves the keys through `pick`; `listeners` are the addresses the node binds.
    static func resolve(
        listeners: [HostPort], pick: (String) throws(ConfigError) -> (String, String)?
    ) throws(ConfigError) -> SecuritySettings {
        var s = SecuritySettings()
        func text(_ key: String) throws(ConfigError) -> (String, String)? { try pick(key) }
        func integer(_ key: String, _ value: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
            guard let (raw, label) = try pick(key) else { return value }
            guard let n = Int(raw), range.contains(n) else {
                throw ConfigError(.badValue, "\(label): `\(raw)` is not an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return n
        }
        let mode = try text("auth") ?? ("off", "auth")
        switch mode.0 {
        case "off":
            if let exposed = listeners.first(where: { !isLoopback($0.host) }) {
                throw ConfigError(.badValue, "\(mode.1): authentication is off but \(exposed) is not a loopback address; "
                    + "set auth = \"jwt\" with a key (docs/security.md) or listen on 127.0.0.1")
            }
            for key in ["auth_hs256_secret_file", "auth_jwks_file", "auth_public_key_file"] {
                if let (_, label) = try pick(key) { throw ConfigError(.badValue, "\(label): set, but auth is off (\(mode.1))") }
            }
        case "jwt":
            s.server.verifier = try verifier(pick: pick, integer: integer)
        default:
            throw ConfigError(.badValue, "\(mode.1): `\(mode.0)` is not an authentication mode (jwt, off)")
        }
        var limits = s.server
        limits.maxConnections = try integer("max_connections", limits.maxConnections, range: 1...1_000_000)
        limits.maxConnectionsPerAddress = try integer("max_connections_per_address", limits.maxConnectionsPerAddress, range: 1...1_000_000)
        limits.frameTimeoutSeconds = try integer("frame_timeout_seconds", limits.frameTimeoutSeconds, range: 0...86_400)
        limits.idleTimeoutSeconds = try integer("idle_timeout_seconds", limits.idleTimeoutSeconds, range: 0...604_800)
        limits.requestsPerSecond = try integer("rate_requests_per_second", limits.requestsPerSecond, range: 0...100_000_000)
        limits.eventsPerSecond = try integer("rate_events_per_second", limits.eventsPerSecond, range: 0...1_000_000_000)
        limits.maxRequestBytesInFlightPerConnection = try integer(
            "max_request_bytes_in_flight", limits.maxRequestBytesInFlightPerConnection, range: (1 << 20)...(1 << 34))
        s.server = limits
        s.maxRequestsInFlight = try integer("max_requests_in_flight", s.maxRequestsInFlight, range: 1...65_536)
        s.maxRequestsInFlightTotal = try integer(
            "max_requests_in_flight_total", s.maxRequestsInFlightTotal, range: 1...1_048_576)
        if let (path, label) = try text("metrics_token_file") {
            do {
                let secret = try TokenKeys.secret(file: path)
                guard let token = String(validating: secret, as: UTF8.self), !token.contains(where: \.isWhitespace) else {
                    throw ConfigError(.badValue, "\(label): the token must be printable text without spaces")
                }
                s.metricsToken = token
            } catch let error as AuthError {
                throw ConfigError(.badValue, "\(label): \(error.detail)")
            } catch let error as ConfigError {
                throw error
            } catch {
                throw ConfigError(.badValue, "\(label): \(error)")
            }
        }
        let v = s.server.verifier
        s.summary = [
            ("auth", mode.0),
            ("auth_audience", v?.audience ?? "-"), ("auth_issuer", v?.issuer ?? "-"),
            ("auth_keys", v.map { "\($0.keys.secret == nil ? 0 : 1) secret, \($0.keys.publicKeys.count) public keys" } ?? "-"),
            ("max_connections", "\(limits.maxConnections)"), ("max_connections_per_address", "\(limits.maxConnectionsPerAddress)"),
            ("frame_timeout_seconds", "\(limits.frameTimeoutSeconds)"), ("idle_timeout_seconds", "\(limits.idleTimeoutSeconds)"),
            ("rate_requests_per_second", "\(limits.requestsPerSecond)"), ("rate_events_per_second", "\(limits.eventsPerSecond)"),
            ("max_request_bytes_in_flight", "\(limits.maxRequestBytesInFlightPerConnection)"),
            ("max_requests_in_flight", "\(s.maxRequestsInFlight)"),
            ("max_requests_in_flight_total", "\(s.maxRequestsInFlightTotal)"),
            ("metrics_token", s.metricsToken == nil ? "none" : "required"),
        ]
        return s
    }

    private static func verifier(
        pick: (String) throws(ConfigError) -> (String, String)?,
        integer: (String, Int, ClosedRange<Int>) throws(ConfigError) -> Int
    ) throws(ConfigError) -> TokenVerifier {
        var keys = TokenKeys()
        var sources = TokenKeySources()
        func load<T>(_ label: String, _ body: () throws(AuthError) -> T) throws(ConfigError) -> T {
            do { return try body() } catch { throw ConfigError(.badValue, "\(label): \(error.detail)") }
        }
        if let (path, label) = try pick("auth_hs256_secret_file") {
            keys.secret = try load(label) { () throws(AuthError) in try TokenKeys.secret(file: path) }
            sources.secretFile = path
        }
        if let (path, label) = try pick("auth_jwks_file") {
            keys.publicKeys += try load(label) { () throws(AuthError) in try TokenKeys.publicKeys(jwksFile: path) }
            sources.jwksFile = path
        }
        if let (path, label) = try pick("auth_public_key_file") {
            keys.publicKeys.append(try load(label) { () throws(AuthError) in try TokenKeys.publicKey(pemFile: path) })
            sources.publicKeyFile = path
        }
        guard keys.secret != nil || !keys.publicKeys.isEmpty else {
            throw ConfigError(.badValue, "auth: jwt needs a key: auth_hs256_secret_file, auth_jwks_file or auth_public_key_file")
        }
        let audience = try pick("auth_audience")?.0
        let issuer = try pick("auth_issuer")?.0
        let leeway = try integer("auth_leeway_seconds", Int(TokenVerifier.defaultLeewaySeconds), 0...3600)
        let rightsClaim = try pick("auth_rights_claim")?.0 ?? TokenVerifier.defaultRightsClaim
        let ledgersClaim = try pick("auth_ledgers_claim")?.0 ?? TokenVerifier.defaultLedgersClaim
        // The files are read again on SIGHUP (key rotation), like the TLS certificates.
        return TokenVerifier(
            keyRing: TokenKeyRing(keys, sources: sources), audience: audience, issuer: issuer, leewaySeconds: Int64(leeway), rightsClaim: rightsClaim,
            ledgersClaim: ledgersClaim)
    }

    /// True for 127.0.0.0/8, ::1 and `localhost`.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Logs the settings, and loudly when authentication is off.
    /// Logs each setting with its value and its source (`origins`: `ServeSettings.origins`).
    func log(to logger: Logger, origins: [String: String]) {
        for (key, value) in summary {
            logger.info("setting", metadata: ["key": "\(key)", "value": "\(value)",
                                              "source": "\(Self.source(of: key, origins: origins))"])
        }
        if server.verifier == nil {
            logger.warning(
                "AUTHENTICATION IS OFF: every client that reaches this node's loopback listeners may read and write every ledger (development only; docs/security.md)")
        }
    }
}

extension SecuritySettings {
    /// Where a summary line's value came from: its key's source, or for the lines that
    /// stand for files (`auth_keys`, `metrics_token`) the source of the first file key set.
    static func source(of key: String, origins: [String: String]) -> String {
        let keys: [String] = switch key {
        case "auth_keys": ["auth_hs256_secret_file", "auth_jwks_file", "auth_public_key_file"]
        case "metrics_token": ["metrics_token_file"]
        default: [key]
        }
        return keys.lazy.compactMap { origins[$0] }.first ?? "default"
    }
}

extension ServeSettings {
    /// The client server's configuration: the listen address and the security settings.
    var serverConfiguration: ServerConfiguration {
        var configuration = ServerConfiguration(
            host: listen.host, port: listen.port, maxInFlightPerConnection: security.maxRequestsInFlight,
            maxInFlightTotal: security.maxRequestsInFlightTotal)
        configuration.security = security.server
        return configuration
    }
}
