import LedgerEngine
import NIOCore
import Synchronization

/// What every connection of one server shares: the ledger, the node's replication role, the global in-flight bound,
/// the counters and the stopping flag.
final class ServerShared: Sendable {
    /// The ledger served; replaced when a replicated node reopens its directory (nil
    /// meanwhile: requests are answered `busy`, not executed).
    private let slot: Mutex<DurableLedger?>
    /// Answers `status` and `promote`.
    let node: any NodeControl
    let limiter: InFlightLimiter
    let metrics: ServerMetrics
    let maxInFlightPerConnection: Int
    let maxQueuedReplyBytesPerConnection: Int
    let drainTimeoutSeconds: Int
    /// Authentication, rights and limits.
    let security: SecurityShared
    private let stoppingFlag = Atomic<Bool>(false)
    /// Each event loop's write coalescer, made on first use.
    private let coalescers = Mutex<[ObjectIdentifier: NIOLoopBound<WriteCoalescer>]>([:])

    init(ledger: DurableLedger?, node: any NodeControl, configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.slot = Mutex(ledger)
        self.node = node
        self.limiter = InFlightLimiter(limit: configuration.maxInFlightTotal)
        self.metrics = metrics
        self.maxInFlightPerConnection = max(1, configuration.maxInFlightPerConnection)
        self.maxQueuedReplyBytesPerConnection = max(1, configuration.maxQueuedReplyBytesPerConnection)
        self.drainTimeoutSeconds = max(0, configuration.drainTimeoutSeconds)
        self.security = SecurityShared(settings: configuration.security, registry: metrics.registry)
    }

    /// True once shutdown began: new requests are answered `shutting_down`.
    /// Sequentially consistent, as is the limiter: a request takes its slot then reads this
    /// flag, `stop()` sets it then reads the limiter, so one of them sees the other.
    var stopping: Bool { stoppingFlag.load(ordering: .sequentiallyConsistent) }

    /// The ledger served now (nil while a replicated node changes its directory).
    var ledger: DurableLedger? { slot.withLock { $0 } }

    /// Serves `ledger` from now on; requests already running finish on the old one.
    func replaceLedger(_ ledger: DurableLedger?) { slot.withLock { $0 = ledger } }

    /// The write coalescer of `loop` (call on that loop; a connection keeps what it got).
    func coalescer(on loop: any EventLoop) -> WriteCoalescer {
        loop.assertInEventLoop()
        let bound = coalescers.withLock { all in
            if let existing = all[ObjectIdentifier(loop)] { return existing }
            let made = NIOLoopBound(WriteCoalescer(eventLoop: loop, shared: self), eventLoop: loop)
            all[ObjectIdentifier(loop)] = made
            return made
        }
        return bound.value
    }

    func beginStopping() { stoppingFlag.store(true, ordering: .sequentiallyConsistent) }
}
