import LedgerReplication
import Prometheus
import Synchronization

/// The replication metrics of a node, on the server's registry, set from the node's status
/// at each scrape: role, epoch, promotions, followers and their lag (LSNs and seconds).
final class ReplicationMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let roles: [String: Gauge]
    private let epoch: Gauge
    private let promotions: Gauge
    private let followers: Gauge
    private let lagLSN: Gauge
    private let lagSeconds: Gauge
    private let perFollower = Mutex<[String: FollowerGauges]>([:])

    private struct FollowerGauges: Sendable {
        let connected: Gauge
        let lagLSN: Gauge
        let lagSeconds: Gauge
        let sentBytes: Gauge
    }

    static let roleNames = ["primary", "follower", "fenced", "starting"]

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String,
                              labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        var roles: [String: Gauge] = [:]
        for name in Self.roleNames {
            roles[name] = Self.gauge(registry, "kamino_replication_role",
                                     "1 for this node's replication role now, 0 for the others.", labels: [("role", name)])
        }
        self.roles = roles
        epoch = Self.gauge(registry, "kamino_replication_epoch", "The epoch of this node's newest record, or of its primary term.")
        promotions = Self.gauge(registry, "kamino_replication_promotions", "Times this process became the primary (failovers it took part in).")
        followers = Self.gauge(registry, "kamino_replication_followers", "Followers connected to this primary.")
        lagLSN = Self.gauge(registry, "kamino_replication_follower_lag_lsn", "On a follower: LSNs behind its primary's log.")
        lagSeconds = Self.gauge(registry, "kamino_replication_follower_lag_seconds", "On a follower: seconds since it last held everything its primary had.")
    }

    /// Sets every gauge from `status`.
    func update(_ status: NodeStatus) {
        for (name, gauge) in roles { gauge.set(name == status.role ? 1.0 : 0.0) }
        epoch.set(Double(status.epoch))
        promotions.set(Double(status.promotions))
        followers.set(Double(status.followers.count))
        lagLSN.set(Double(status.lagLSN ?? 0))
        lagSeconds.set(status.lagSeconds ?? 0)
        let seen = Set(status.followers.map(\.node))
        perFollower.withLock { table in
            for f in status.followers {
                let g = table[f.node] ?? make(f.node)
                table[f.node] = g
                g.connected.set(1.0)
                g.lagLSN.set(Double(f.lagLSN))
                g.lagSeconds.set(f.lagSeconds)
                g.sentBytes.set(Double(f.sentBytes))
            }
            for (node, g) in table where !seen.contains(node) { g.connected.set(0.0) }
        }
    }

    private func make(_ node: String) -> FollowerGauges {
        let labels = [("node", node)]
        return FollowerGauges(
            connected: Self.gauge(registry, "kamino_replication_follower_connected", "On a primary: 1 while the follower is connected.", labels: labels),
            lagLSN: Self.gauge(registry, "kamino_replication_lag_lsn", "On a primary: LSNs the follower's durable log is behind this log.", labels: labels),
            lagSeconds: Self.gauge(registry, "kamino_replication_lag_seconds", "On a primary: seconds since the follower last held everything made durable here.", labels: labels),
            sentBytes: Self.gauge(registry, "kamino_replication_sent_bytes", "On a primary: bytes sent to the follower on its current connection.", labels: labels))
    }
}
