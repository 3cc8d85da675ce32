import CoreMetrics
package import Prometheus
import Synchronization

/// The counters of authentication, refused rights and limits, registered in the server's
/// Prometheus registry (aggregate counts only: never a subject, token or address).
package final class SecurityMetrics: Sendable {
    typealias MetricCounter = CoreMetrics.Counter

    private let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: MetricCounter]>([:])
    /// Connections authenticated.
    private let authenticated: MetricCounter

    /// The limits counted by `limitHit` (the `limit` label).
    package enum Limit: String, Sendable, CaseIterable {
        case connections
        case connectionsPerAddress = "connections_per_address"
        case frameTimeout = "frame_timeout"
        case idleTimeout = "idle_timeout"
        case requestRate = "request_rate"
        case eventRate = "event_rate"
        case requestBytesInFlight = "request_bytes_in_flight"
    }

    package init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        authenticated = MetricCounter(
            label: "kamino_auth_success_total", dimensions: [],
            handler: registry.makeCounter(descriptor: Self.describe("kamino_auth_success_total", "Tokens accepted by authenticate.")))
    }

    /// A token accepted.
    func authenticationSucceeded() { authenticated.increment() }

    /// A token refused (or a request before `authenticate`), by reason.
    func authenticationFailed(reason: String) {
        counter("kamino_auth_failures_total", "Authentication failures, by reason.", ("reason", reason)).increment()
    }

    /// A follower refused on the replication port, by reason (an authentication failure's,
    /// or `forbidden` for a token without `replicate`).
    func replicationAuthFailed(reason: String) {
        counter("kamino_replication_auth_failures_total", "Followers refused on the replication port, by reason.", ("reason", reason))
            .increment()
    }

    /// A request refused `forbidden`, by the right it lacked (`ledger` for a ledger outside the token's).
    func forbidden(right: String) {
        counter("kamino_forbidden_total", "Requests refused for a missing right or ledger, by right.", ("right", right)).increment()
    }

    /// A limit answered a connection or request.
    func limitHit(_ limit: Limit) {
        counter("kamino_limit_hits_total", "Connections or requests refused or closed by a limit, by limit.", ("limit", limit.rawValue))
            .increment()
    }

    /// A TLS connection failed (handshake, plaintext peer, bad record, truncation), by
    /// `TLSError.Code`.
    func tlsFailed(reason: String) {
        counter("kamino_tls_failures_total", "TLS connections that failed, by reason.", ("reason", reason)).increment()
    }

    private func counter(_ name: String, _ help: String, _ label: (String, String)) -> MetricCounter {
        counters.withLock { table in
            let key = name + "|" + label.1
            if let c = table[key] { return c }
            let c = MetricCounter(
                label: name, dimensions: [label],
                handler: registry.makeCounter(descriptor: Self.describe(name, help), labels: [label]))
            table[key] = c
            return c
        }
    }

    private static func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
