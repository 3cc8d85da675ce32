import ArgumentParser
import Glibc
import LedgerBench

/// `kamino bench`: the benchmark runner. Without `--address` it starts its own server
/// (this binary, a temporary data dir unless `--data`, real log with fsync) and stops it.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a Kamino server: scenarios, mixes, latency percentiles, money check.",
        discussion: """
            Scenarios (k6 model): throughput (default: the base concurrency as fast as the \
            server answers, 10 s; one batch of 8189 in flight in the transfers mix), smoke \
            (minimal load: 10 requests/s for 5 s, batches of 100), load (steady, 60 s), stress \
            (4x the concurrency, 60 s), spike (8x jump and back, 45 s), soak (110 s, server \
            memory watched), breakpoint (ramps until p99 or errors cross a limit; reports \
            where). --duration scales any of them; --stages 10s:100,30s:1000,10s:0 replaces \
            them with custom stages ramped linearly (workers, or N/s rates). --rate N/s runs \
            the open model: requests at fixed intended times, latency counted from those \
            times (no coordinated omission), at most --in-flight (default 64) at once; late \
            and dropped sends are reported. Mixes: transfers (create_transfers batches, \
            TigerBeetle's benchmark shape) and bank (40% balances, 25% statements, 20% \
            dashboards, 10% transfers, 5% registrations over a pool of users). At the end \
            the money invariants are checked through the API; the exit status is 1 when \
            they fail, a request failed unexpectedly, a --threshold (e.g. \
            'create_transfers:p99<5ms', 'create_transfers:rate>1000/s', \
            'requests:error_rate<1%') does not hold, or the run stopped early (100 failures \
            in a row, or none succeeded for twice --request-timeout: the server is gone or \
            stuck); Ctrl-C stops the run, still prints the table and \
            writes the files, and exits 130. With --followers N --replication \
            sync|async the bench also starts N followers (`kamino follow`, temporary dirs), \
            waits until they are attached, and at the end checks that each one's `wal replay` \
            digest equals the primary's (exit status 1 when not). The report gives the CPU \
            the bench client and the server spent per request (the server's only for its own \
            server or with --server-pid). --compare BASELINE.json prints the differences \
            with an earlier run's --json.
            """)

    @Option(help: "Drive a running server at HOST:PORT instead of starting one.")
    var address: String?

    @Option(help: "The process id of the server at --address, to report its CPU per request (read from /proc).")
    var serverPid: Int32?

    @Option(help: "Data directory for the server the bench starts (kept afterwards).")
    var data: String?

    @Option(help: "Shards of the server the bench starts (passed to `kamino serve --shards`), at least 1.")
    var shards: Int?

    @Option(help: ArgumentHelp(
        "Transfers the server the bench starts sets its memory aside for at start-up (`kamino serve --expected-transfers`).",
        discussion: "Default: --transfers in the transfers mix with one shard, so the server faults in what the run will "
            + "need before it listens and pays no page fault for growth during the run, as TigerBeetle allocates all "
            + "its memory at start; 0: none (the server grows as it fills)."))
    var expectedTransfers: Int?

    @Option(help: "Followers (`kamino follow`, temporary dirs) of the server the bench starts, 0...4; needs --replication.")
    var followers: Int = 0

    @Option(help: "Replication mode of the server the bench starts: sync or async (default: none).")
    var replication: BenchReplication?

    @Option(help: "The load shape (default: throughput).")
    var scenario: BenchScenario?

    @Option(help: "The requests sent.")
    var mix: BenchMix = .transfers

    @Option(help: "Accounts in the pool (users in the bank mix), 2...50000000.")
    var accounts: Int = 10_000

    @Option(help: "Stop after this many transfers (transfers mix); steady scenarios then run until reached.")
    var transfers: Int?

    @Option(help: "Scenario length in seconds (scales its stages), up to 86400.")
    var duration: Double?

    @Option(help: ArgumentHelp(
        "Custom stages instead of a scenario: DURATION:TARGET,..., each ramped linearly from the previous target.",
        discussion: "Targets are workers (closed model, starting from --in-flight or 1) or N/s rates (open model, "
            + "starting from --rate or 0/s), e.g. 10s:100,30s:1000,10s:0 or 10s:500/s,30s:500/s.",
        valueName: "stages"))
    var stages: String?

    @Option(help: ArgumentHelp(
        "Open model: send N requests per second at fixed intended times (N/s or N).",
        discussion: "Latency counts from the intended send time, so a slow server cannot hide its queue "
            + "(coordinated omission). --in-flight caps the requests in flight (default 64).",
        valueName: "N/s"))
    var rate: String?

    @Option(help: ArgumentHelp(
        "A rule that must hold, else the exit status is 1; repeatable.",
        discussion: "METRIC:STATISTIC<VALUE with <, <=, >, >=: METRIC is an operation (create_transfers, ...), a bank "
            + "action, requests or transfers; STATISTIC is p50, p90, p95, p99, p99.9, p(N), min, max, mean, rate, "
            + "count, errors or error_rate. E.g. 'create_transfers:p99<5ms', 'create_transfers:rate>1000/s', "
            + "'requests:error_rate<1%'.",
        valueName: "rule"))
    var threshold: [String] = []

    @Option(help: ArgumentHelp("Print the differences with an earlier run's --json file.", valueName: "baseline.json"))
    var compare: String?

    @Option(help: "Transfers per create_transfers request (transfers mix), 1...8189 (default 8189; 100 in smoke).")
    var batchSize: Int?

    @Option(help: "Client connections, 1...4096 (default 1 for transfers, 16 for bank).")
    var connections: Int?

    @Option(help: "Concurrent requests in flight at the scenario's base level, 1...4096 (default 1 for transfers, 64 for bank); with --rate or smoke, the most in flight (default 64).")
    var inFlight: Int?

    @Option(help: "Account distribution: uniform, zipf (theta 0.99), zipf:THETA (0 < THETA < 1), hot.")
    var distribution: AccountDistribution = .uniform

    @Option(help: "Share of two-phase transfers (pending, then post or void), 0...1.")
    var twoPhase: Double = 0

    @Option(help: "Share of transfers in linked chains, 0...1.")
    var linked: Double = 0

    @Option(help: "Seed of the workload, ids and ledger (default: from the clock; printed).")
    var seed: UInt64?

    @Option(help: "Breakpoint: p99 limit in ms (default 100 for transfers, 20 for bank).")
    var maxP99Ms: Double?

    @Option(help: "Retries per failed request (busy, timeout, lost connection), 0...100; 0 reports at once.")
    var retries: Int = 0

    @Option(help: "Request timeout in seconds (positive).")
    var requestTimeout: Double = 30

    @OptionGroup var tls: ClientTLSOptions

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Option(name: [.customLong("report"), .customLong("html")],
            help: "Write an HTML report with plots (self-contained, works offline) to this file.")
    var report: String?

    @OptionGroup var authentication: TokenOptions

    @Flag(help: "No progress output (the final table is still printed).")
    var quiet = false

    /// Every range is checked here, before anything runs: a bad value is a usage error.
    func validate() throws {
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1") }
        if address != nil && (data != nil || shards != nil || expectedTransfers != nil) {
            throw ValidationError("--data, --shards and --expected-transfers configure the server the bench starts; not with --address")
        }
        if let expectedTransfers, expectedTransfers < 0 || expectedTransfers >= 1 << 31 {
            throw ValidationError("--expected-transfers must be 0...2147483647")
        }
        if let expectedTransfers, expectedTransfers > 0, let shards, shards > 1 {
            throw ValidationError("--expected-transfers needs one shard (`kamino serve` refuses it with --shards > 1)")
        }
        if stages != nil, scenario != nil {
            throw ValidationError("--stages replace the scenario's shape; not with --scenario")
        }
        do {
            try configuration(seed: 0).validate()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let c: BenchConfiguration
        let baseline: BaselineComparison.Figures?
        do {
            c = try configuration(seed: seed ?? (monotonicNanos() ^ UInt64(UInt32(bitPattern: getpid())) << 32))
            // Output files and the baseline are checked before the run, not found wanting after it.
            if let json { try SystemProbe.checkWritable(json, option: "--json") }
            if let report { try SystemProbe.checkWritable(report, option: "--report") }
            baseline = try compare.map { path throws(BenchError) in
                guard let document = JSONValue.parse(try SystemProbe.readFile(path)) else {
                    throw BenchError(.invalidOption, "--compare \(path): not JSON")
                }
                do throws(BenchError) {
                    return try BaselineComparison.Figures.read(document)
                } catch {
                    throw BenchError(.invalidOption, "--compare \(path): \(error.message)")
                }
            }
        } catch {
            throw exitFailure("error: \(error.message)")
        }
        raiseFileLimit()
        Interrupt.install()
        var runner = BenchRunner(configuration: c, executable: Self.ownExecutable())
        runner.token = try authentication.clientToken()
        runner.keepData = data
        if let shards { runner.serverArguments = ["--shards", String(shards)] }
        let expected = expectedTransfers ?? (mix == .transfers && (shards ?? 1) == 1 ? min(transfers ?? 0, Int(Int32.max)) : 0)
        if expected > 0 { runner.serverArguments += ["--expected-transfers", String(expected)] }
        runner.showProgress = !quiet
        runner.version = KaminoVersion.version
        runner.commit = KaminoVersion.commit
        runner.commandLine = CommandLine.arguments
        var result: BenchReport
        do {
            result = try await runner.run()
        } catch {
            throw exitFailure("error: \(error.message)")
        }
        if let baseline, let compare {
            result.comparison = BaselineComparison.make(
                baseline: baseline, current: .of(result), baselinePath: compare)
        }
        print(TableReport.render(result), terminator: "")
        if let comparison = result.comparison { print("\n" + comparison.render(), terminator: "") }
        var failures: [String] = []
        if let json {
            do {
                try SystemProbe.writeFile(json, JSONReport.document(result).render() + "\n")
                print("json: \(json)")
            } catch {
                failures.append(error.message)
            }
        }
        if let report {
            do {
                try SystemProbe.writeFile(report, HTMLReport.render(result))
                print("report: \(report)")
            } catch {
                failures.append(error.message)
            }
        }
        if !failures.isEmpty { throw exitFailure("error: " + failures.joined(separator: "; ")) }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }

    /// The runner's configuration from the options; throws when a rule, the stages or the
    /// rate cannot be read.
    private func configuration(seed: UInt64) throws(BenchError) -> BenchConfiguration {
        var c = BenchConfiguration()
        c.scenario = scenario ?? .throughput
        c.stages = try stages.map { text throws(BenchError) in try StageSpec.parse(text) }
        c.thresholds = try threshold.map { text throws(BenchError) in try Threshold.parse(text) }
        if let rate {
            let number = rate.hasSuffix("/s") ? String(rate.dropLast(2)) : rate
            guard let value = Double(number), value.isFinite else {
                throw BenchError(.invalidOption, "--rate '\(rate)': expected requests per second, e.g. 500/s")
            }
            c.rate = value
        }
        c.mix = mix
        c.distribution = distribution
        c.accounts = accounts
        c.transfers = transfers
        c.duration = duration
        c.batchSize = batchSize
        c.connections = connections
        c.inFlight = inFlight
        c.twoPhase = twoPhase
        c.linked = linked
        c.seed = seed
        c.address = address
        c.tls = tls.options
        c.serverPid = serverPid
        c.maxP99Millis = maxP99Ms
        c.retries = retries
        c.requestTimeout = requestTimeout
        c.followers = followers
        c.replication = replication
        return c
    }

    /// The path of this binary (to start `kamino serve` with).
    private static func ownExecutable() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension BenchScenario: ExpressibleByArgument {}
extension BenchMix: ExpressibleByArgument {}
extension BenchReplication: ExpressibleByArgument {}

extension AccountDistribution: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }

    public var defaultValueDescription: String { name }

    public static var allValueStrings: [String] { ["uniform", "zipf", "zipf:THETA", "hot"] }
}
