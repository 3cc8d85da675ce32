import ArgumentParser
import LedgerReplication
import Logging

/// `kamino follow`: a follower. Receives the primary's log, makes it durable here,
/// applies it with the same engine and serves reads; writes are answered `not_primary`
/// with the primary's address. `kamino promote` makes it the primary.
struct Follow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a primary: replicate its log, serve reads (docs/replication.md).",
        discussion: """
            Takes the same settings as `serve` (flags, KAMINO_* variables, config file). Once \
            ready it prints `listening on HOST:PORT` (the client port, for reads).
            """)

    @Option(help: "The primary's replication address HOST:PORT (its --replication-listen).")
    var primary: String

    @OptionGroup var options: ServeOptions

    /// The token this follower presents to a primary with `--auth jwt` (it needs `replicate`).
    @OptionGroup var authentication: TokenOptions

    func run() async throws {
        let settings = try options.resolve(primary: primary)
        raiseFileLimit()
        bootstrapLogging(level: settings.logLevel, format: settings.logFormat)
        let logger = Logger(label: "kamino.follow")
        logSettings(settings, to: logger)
        settings.security.log(to: logger, origins: settings.origins)
        guard let primary = settings.replication.primary else {
            throw exitFailure("error: --primary is required")
        }
        let tls: NodeTLS?
        do { tls = try settings.tls.map { (t) throws(StartupError) in try NodeTLS(t, replication: true) } } catch {
            throw exitFailure("error: \(error)")
        }
        let hangup = reloadOnHangup(tls: tls, keys: settings.security.server.verifier?.keyRing, logger: logger)
        defer { hangup?.cancel() }
        try await ReplicatedServe(settings: settings, acceptDataLoss: options.acceptDataLoss, logger: logger, tls: tls,
                                  replicationToken: try authentication.replicationToken())
            .run(start: .follower(host: primary.host, port: primary.port))
    }
}
