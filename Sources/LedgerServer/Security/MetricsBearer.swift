import KaminoAuth

/// The optional bearer token of the metrics port's `/metrics` (`/healthz` and `/readyz`
/// stay open for load balancers and orchestrators).
enum MetricsBearer {
    /// True when no token is configured, or `header` is `Bearer <token>` (compared in
    /// constant time).
    static func authorized(_ header: String?, token: String?) -> Bool {
        guard let token else { return true }
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8)
        return HMACSHA256.equal(given, Array(token.utf8))
    }
}
