import KaminoAuth
import Logging
import NIOCore
import Prometheus

/// What every connection of one server shares for authentication and limits: the
/// settings, the token verifier, the connection counts, the rate buckets, the counters
/// and the audit log.
final class SecurityShared: Sendable {
    let settings: ServerSecurity
    let admission: ConnectionAdmission
    let rates: RateLimiter?
    let metrics: SecurityMetrics
    let audit: AuditLog

    init(settings: ServerSecurity, registry: PrometheusCollectorRegistry) {
        self.settings = settings
        self.admission = ConnectionAdmission(
            maxTotal: settings.maxConnections, maxPerAddress: settings.maxConnectionsPerAddress)
        self.rates = RateLimiter(requestsPerSecond: settings.requestsPerSecond, eventsPerSecond: settings.eventsPerSecond)
        self.metrics = SecurityMetrics(registry: registry)
        self.audit = AuditLog()
    }

    /// The client IP address of `channel` (`unknown` when it has none).
    static func peerAddress(_ channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Admits `channel` or installs the refusal pipeline; true when admitted (its place
    /// is given back when it closes). Call from the child channel initializer.
    func admit(_ channel: any Channel) throws -> Bool {
        let peer = Self.peerAddress(channel)
        if let limit = admission.admit(peer) {
            metrics.limitHit(limit)
            let detail = limit == .connections
                ? "the server has \(settings.maxConnections) connections open"
                : "this address has \(settings.maxConnectionsPerAddress) connections open"
            audit.record("limit", peer: peer, subject: nil, detail: "\(limit.rawValue): \(detail)")
            try channel.pipeline.syncOperations.addHandler(ConnectionRefusalHandler(message: detail + "; connection refused"))
            return false
        }
        let admission = self.admission
        channel.closeFuture.whenComplete { _ in admission.release(peer) }
        return true
    }
}
