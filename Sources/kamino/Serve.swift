import ArgumentParser
import Glibc
import LedgerEngine
import LedgerReplication
import LedgerServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `kamino serve`: the primary. Opens (recovers) the data directory, serves clients over
/// TCP until SIGTERM/SIGINT, then drains in-flight batches, closes the log and exits 0.
/// The ledger, the server and the metrics endpoint run as services of one `ServiceGroup`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the ledger over TCP (docs/protocol.md).",
        discussion: """
            Settings come from, in increasing precedence: defaults, the config file \
            (config/kamino.toml if present, or --config), KAMINO_DATA / KAMINO_LISTEN / \
            KAMINO_METRICS / KAMINO_SNAPSHOT_EVERY / \
            KAMINO_SNAPSHOT_LOG_BYTES / KAMINO_SHARDS, and these flags. Once ready it prints \
            `listening on HOST:PORT` (the real port, also with port 0).
            """)

    @OptionGroup var options: ServeOptions

    /// The token this node presents when it follows (with etcd it may become a follower).
    @OptionGroup(title: "Replication token (when this node follows)") var authentication: TokenOptions

    func run() async throws {
        let settings = try options.resolve()
        raiseFileLimit()
        bootstrapLogging(level: settings.logLevel, format: settings.logFormat)
        let logger = Logger(label: "kamino.serve")
        logSettings(settings, to: logger)
        settings.security.log(to: logger, origins: settings.origins)
        let tls: NodeTLS?
        do { tls = try settings.tls.map { (t) throws(StartupError) in try NodeTLS(t, replication: settings.replication.enabled) } } catch {
            throw exitFailure("error: \(error)")
        }
        let hangup = reloadOnHangup(tls: tls, keys: settings.security.server.verifier?.keyRing, logger: logger)
        defer { hangup?.cancel() }
        if settings.replication.enabled {
            let start: ReplicatedNode.Start = settings.replication.primary.map { .follower(host: $0.host, port: $0.port) } ?? .primary
            try await ReplicatedServe(settings: settings, acceptDataLoss: options.acceptDataLoss, logger: logger, tls: tls,
                                      replicationToken: try authentication.replicationToken())
                .run(start: start)
            return
        }

        let metrics = ServerMetrics(version: KaminoVersion.version, commit: KaminoVersion.commit)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        // The operator endpoint answers from before recovery: /healthz 200 while the process
        // serves, /readyz 503 until the recovered ledger takes writes.
        let serving = ServingSlot()
        var endpoint: MetricsHTTPServer?
        if let metricsAddress = settings.metrics {
            let early = MetricsHTTPServer(
                host: metricsAddress.host, port: metricsAddress.port, group: group,
                bearerToken: settings.security.metricsToken, tls: tls?.clientPort,
                ready: { serving.ledger?.acceptsWrites ?? false },
                render: { metrics.render(ledger: serving.ledger, inFlight: serving.inFlight) })
            do {
                let bound = try await early.start()
                announce("metrics on \(Self.describe(bound, fallback: metricsAddress.description))")
            } catch {
                try? await group.shutdownGracefully()
                throw exitFailure("error: \(error)")
            }
            endpoint = early
        }
        let ledger: DurableLedger
        do {
            try makeDirectories(settings.data)
            ledger = try await LedgerOpening.open(settings, role: .primary, acceptDataLoss: options.acceptDataLoss,
                                                  metrics: metrics, logger: logger)
        } catch {
            let text = (error as? EngineError)?.message ?? "\(error)"
            logger.critical("cannot start", metadata: ["error": "\(text)"])
            try? await group.shutdownGracefully()
            throw exitFailure("error: \(text)")
        }
        let pulses: PulseScheduler
        do {
            pulses = try PulseScheduler.start(ledger, onOutcome: pulseOutcomeLogger(logger))
        } catch {
            await ledger.close()
            try? await group.shutdownGracefully()
            throw exitFailure("error: pulse scheduler: \(error)")
        }
        var configuration = settings.serverConfiguration
        configuration.tls = tls?.clientPort
        let server = LedgerTCPServer(
            configuration: configuration,
            ledger: ledger, group: group, metrics: metrics, nodeControl: StandaloneNodeControl(ledger: ledger))
        // The group stops its services in reverse order: endpoints, then the server
        // (draining in-flight batches), then the pulse scheduler, then the ledger, which
        // closes its log.
        var services: [any Service] = [ledger, pulses, server]
        let listening: String
        do {
            let address = try await server.start()
            serving.set(ledger: ledger, server: server)
            if let endpoint { services.append(endpoint) }
            listening = "listening on \(Self.describe(address, fallback: settings.listen.description))"
        } catch {
            try? await server.stop()
            await pulses.stop()
            await ledger.close()
            try? await group.shutdownGracefully()
            throw exitFailure("error: \(error)")
        }

        // Announces `listening on` once SIGTERM is trapped (see `ShutdownNotice`).
        services.append(ShutdownNotice(logger: logger, announcement: listening))
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        var failure: (any Error)?
        do {
            try await serviceGroup.run()
        } catch {
            failure = error
        }
        try? await group.shutdownGracefully()
        if let failure {
            logger.critical("stopped on a failure", metadata: ["error": "\(failure)", "durable_lsn": "\(ledger.durableLSN)"])
            throw exitFailure("error: \(failure)")
        }
        logger.notice("stopped: the log is closed", metadata: [
            "data_dir": "\(StartupSummary.absolute(settings.data))", "durable_lsn": "\(ledger.durableLSN)",
        ])
        announce("stopped")
    }

    static func describe(_ address: SocketAddress, fallback: String) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return fallback }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// The ledger and client server a standalone `serve` runs, once recovered (nil before):
/// what the operator endpoint, started before recovery, reports on.
private final class ServingSlot: Sendable {
    private let current = Mutex<(ledger: DurableLedger, server: LedgerTCPServer)?>(nil)

    var ledger: DurableLedger? { current.withLock { $0?.ledger } }
    var inFlight: Int { current.withLock { $0?.server.inFlight } ?? 0 }

    func set(ledger: DurableLedger, server: LedgerTCPServer) { current.withLock { $0 = (ledger, server) } }
}
