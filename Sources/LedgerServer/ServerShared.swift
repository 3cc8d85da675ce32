import LedgerEngine
import Synchronization

/// What every connection of one server shares: the ledger, the global in-flight bound,
/// the counters and the stopping flag.
final class ServerShared: Sendable {
    let ledger: DurableLedger
    let limiter: InFlightLimiter
    let metrics: ServerMetrics
    let maxInFlightPerConnection: Int
    private let stoppingFlag = Atomic<Bool>(false)

    init(ledger: DurableLedger, configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.ledger = ledger
        self.limiter = InFlightLimiter(limit: configuration.maxInFlightTotal)
        self.metrics = metrics
        self.maxInFlightPerConnection = max(1, configuration.maxInFlightPerConnection)
    }

    /// True once shutdown began: new requests are answered `shutting_down`.
    var stopping: Bool { stoppingFlag.load(ordering: .acquiring) }

    func beginStopping() { stoppingFlag.store(true, ordering: .releasing) }
}
