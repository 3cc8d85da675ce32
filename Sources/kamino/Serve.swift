import ArgumentParser
import Glibc
import LedgerEngine
import LedgerServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `kamino serve`: the primary. Opens (recovers) the data directory, serves clients over
/// TCP until SIGTERM/SIGINT, then drains in-flight batches, closes the log and exits 0.
/// The ledger, the server and the metrics endpoint run as services of one `ServiceGroup`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the ledger over TCP (docs/protocol.md).",
        discussion: """
            Settings come from, in increasing precedence: defaults, the config file \
            (config/kamino.toml if present, or --config), KAMINO_DATA / KAMINO_LISTEN / \
            KAMINO_METRICS / KAMINO_SNAPSHOT_EVERY / KAMINO_SHARDS, and these flags. Once ready it prints \
            `listening on HOST:PORT` (the real port, also with port 0).
            """)

    @Option(help: "Data directory (default ./wal/data).")
    var data: String?

    @Option(help: "Client address HOST:PORT (default 127.0.0.1:4410; port 0 picks one).")
    var listen: String?

    @Option(help: "Metrics address HOST:PORT for GET /metrics, or `off` (default 127.0.0.1:4480).")
    var metrics: String?

    @Option(help: "Take a snapshot every N log records (0: never; default 0).")
    var snapshotEvery: String?

    @Option(help: "Shards of the ledger: 1 (default) runs the serial ledger; 2-16 shard accounts across that many shard actors (no snapshots yet).")
    var shards: String?

    @Option(help: "Size the transfer id index for this many transfers at start-up, so it never grows below that (about 13 bytes each; default 0: grow as needed).")
    var expectedTransfers: String?

    @Option(help: "Config file (default config/kamino.toml, used if present).")
    var config: String?

    @Option(help: "Lowest level logged: trace, debug, info (default), notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Log line format on stderr: text (default) or json (one object per line).")
    var logFormat: String?

    @Flag(help: ArgumentHelp(
        "Start from what the data directory holds even when it holds less than it must (damage, missing segments or snapshots): the refusal is logged instead. Acknowledged batches may be lost.",
        visibility: .default))
    var acceptDataLoss = false

    func run() async throws {
        try await run(nodeControl: { ledger in StandaloneNodeControl(ledger: ledger) })
    }

    /// Serves with `nodeControl(ledger)` answering the client port's `status` and
    /// `promote` (a replicated node passes its own; `run()` a standalone one).
    func run(nodeControl: (DurableLedger) -> any NodeControl) async throws {
        let settings: ServeSettings
        do {
            settings = try ServeSettings.resolve(
                flags: .init(data: data, listen: listen, metrics: metrics, snapshotEvery: snapshotEvery, shards: shards,
                             expectedTransfers: expectedTransfers, logLevel: logLevel, logFormat: logFormat),
                configPath: config, environment: processEnvironment())
        } catch {
            throw exitFailure("error: \(error.description)")
        }
        raiseFileLimit()
        bootstrapLogging(level: settings.logLevel, format: settings.logFormat)
        let logger = Logger(label: "kamino.serve")
        logSettings(settings, to: logger)

        let metrics = ServerMetrics(version: KaminoVersion.version, commit: KaminoVersion.commit)
        let ledger: DurableLedger
        do {
            try makeDirectories(settings.data)
            if settings.shards > 1 {
                ledger = try await DurableLedger.openSharded(
                    directory: settings.data, shards: settings.shards, allowDamaged: acceptDataLoss)
            } else {
                ledger = try await DurableLedger.open(
                    directory: settings.data, allowDamaged: acceptDataLoss, snapshotEvery: settings.snapshotEvery,
                    expectedTransfers: settings.expectedTransfers
                ) {
                    outcome in
                    metrics.snapshot(outcome)
                    // Snapshots are an optimisation of recovery time; a failure is reported, not fatal.
                    switch outcome {
                    case .failed(let lsn, let error):
                        logger.error("snapshot failed (the log still holds every batch)",
                                     metadata: ["snapshot_lsn": "\(lsn)", "error": "\(error)"])
                    case .written(let lsn, let removed, let seconds, let bytes):
                        logger.info("snapshot written", metadata: [
                            "snapshot_lsn": "\(lsn)", "bytes": "\(bytes)", "seconds": "\(seconds)",
                            "removed_files": "\(removed)"])
                    }
                }
            }
        } catch {
            let text = (error as? EngineError)?.message ?? "\(error)"
            logger.critical("cannot start", metadata: ["error": "\(text)"])
            throw exitFailure("error: \(text)")
        }
        logStartup(ledger.startup, to: logger)
        metrics.recovered(seconds: ledger.startup.seconds)
        metrics.observe(ledger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let server = LedgerTCPServer(
            configuration: ServerConfiguration(host: settings.listen.host, port: settings.listen.port),
            ledger: ledger, group: group, metrics: metrics, nodeControl: nodeControl(ledger))
        // The group stops its services in reverse order: endpoints, then the server
        // (draining in-flight batches), then the ledger, which closes its log.
        var services: [any Service] = [ledger, server]
        do {
            let address = try await server.start()
            if let metricsAddress = settings.metrics {
                let endpoint = MetricsHTTPServer(
                    host: metricsAddress.host, port: metricsAddress.port, group: group,
                    ready: { ledger.acceptsWrites },
                    render: { server.metrics.render(ledger: ledger, inFlight: server.inFlight) })
                let bound = try await endpoint.start()
                services.append(endpoint)
                announce("metrics on \(Self.describe(bound, fallback: metricsAddress.description))")
            }
            announce("listening on \(Self.describe(address, fallback: settings.listen.description))")
        } catch {
            try? await server.stop()
            await ledger.close()
            try? await group.shutdownGracefully()
            throw exitFailure("error: \(error)")
        }

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
            throw exitFailure("error: \(failure)")
        }
        announce("stopped")
    }

    private static func describe(_ address: SocketAddress, fallback: String) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return fallback }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
