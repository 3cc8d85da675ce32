package import LedgerEngine
package import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Kamino TCP server: accepts client connections and serves the wire protocol
/// (docs/protocol.md) from a `DurableLedger`.
///
/// `start()` binds (so the caller can print the real port); `run()`, the `Service` entry
/// point, serves until graceful shutdown, then stops accepting, answers new requests
/// `shutting_down`, waits for in-flight requests to be answered and closes every
/// connection. Closing the ledger is left to its owner.
package final class LedgerTCPServer: Service, Sendable {
    private let configuration: ServerConfiguration
    private let group: any EventLoopGroup
    let shared: ServerShared
    private let channels = ChannelRegistry()
    private let listener = ListenerBox()

    /// The server's counters.
    package var metrics: ServerMetrics { shared.metrics }
    /// Requests being executed now.
    package var inFlight: Int { shared.limiter.inFlight }

    /// - Parameters:
    ///   - ledger: the ledger served; nil until a replicated node opens one (`replaceLedger`).
    ///   - nodeControl: answers `status` and `promote`; nil: a standalone node
    ///     (`StandaloneNodeControl`, which needs `ledger`).
    package init(configuration: ServerConfiguration, ledger: DurableLedger?, group: any EventLoopGroup,
                 metrics: ServerMetrics = ServerMetrics(), nodeControl: (any NodeControl)? = nil) {
        self.configuration = configuration
        self.group = group
        guard let node = nodeControl ?? ledger.map({ StandaloneNodeControl(ledger: $0) }) else {
            preconditionFailure("a server without a ledger needs the node that will open one")
        }
        self.shared = ServerShared(ledger: ledger, node: node, configuration: configuration, metrics: metrics)
    }

    /// Serves `ledger` from now on (a replicated node reopened its directory); nil answers
    /// every request `busy` until a ledger is set. Requests already running finish on the
    /// ledger they started on.
    package func replaceLedger(_ ledger: DurableLedger?) { shared.replaceLedger(ledger) }

    /// Binds the client port and starts accepting; returns the bound address.
    package func start() async throws(ServerError) -> SocketAddress {
        let shared = self.shared
        let channels = self.channels
        let tls = configuration.tls
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: configuration.outboundLowWaterMark, high: configuration.outboundHighWaterMark))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard channels.add(channel) else { throw ChannelError.ioOnClosedChannel }
                    channel.closeFuture.whenComplete { _ in channels.remove(channel) }
                    guard try shared.security.admit(channel) else { return }  // refused: too_many_connections
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tls.makeHandler()) }
                    try channel.pipeline.syncOperations.addHandler(SessionHandler(shared: shared))
                }
            }
        return try await listener.bind(bootstrap, host: configuration.host, port: configuration.port, purpose: "listen")
    }

    /// Serves until graceful shutdown (or cancellation), then drains and stops.
    package func run() async throws {
        try? await gracefulShutdown()
        try await stop()
    }

    /// Stops accepting, tells every connection to stop reading and close once its accepted
    /// requests are answered (replies written), waits for that (up to the drain timeout)
    /// and closes what is left. Safe to call more than once.
    package func stop() async throws(ServerError) {
        shared.beginStopping()
        if let channel = listener.take() {
            try? await channel.close()
        }
        let open = channels.closeAll()
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(SessionHandler.Drain())
        }
        _ = await DrainSignal.wait(
            channels: open, limiter: shared.limiter, timeout: .seconds(Int64(shared.drainTimeoutSeconds)),
            on: group.next())
        let left = shared.limiter.inFlight
        for channel in open {
            try? await channel.close()
        }
        if left > 0 {
            throw ServerError(.drainTimedOut, "\(left) requests still in flight after \(configuration.drainTimeoutSeconds) s")
        }
    }
}
