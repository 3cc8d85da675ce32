import ArgumentParser
import LedgerCore
import StressSupport
import LedgerWorkload

// kamino-ledgerstress: ledger-level crash-test driver and snapshot/replay benchmarks.
//   kamino-ledgerstress stress DIR [--appenders N] [--seconds S] [--snapshot-every LSNS]
//                                  [--segment-size BYTES] [--think-us US] [--batch-max N]
//   kamino-ledgerstress bench-snapshot DIR [--accounts N] [--transfers N] [--runs N] [--capture-only N]
//   kamino-ledgerstress bench-replay DIR [--accounts N] [--transfers N] [--batch N] [--runs N]
//   kamino-ledgerstress bench-shards - [--accounts N] [--transfers N] [--batch N] [--runs N]
//                                  [--layout K (0: 2 and 4)] [--cross PCT (-1: 0, 50, 100)]
//                                  [--two-phase PCT] [--linked PCT] [--limited PCT]

/// The driver's command line: one subcommand per mode.
@main
struct LedgerStress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kamino-ledgerstress",
        abstract: "Ledger-level crash-test driver and snapshot, replay and shard benchmarks.",
        subcommands: [StressCommand.self, SnapshotBenchCommand.self, ReplayBenchCommand.self, ShardBenchCommand.self])
}

/// Throws a usage error unless `value` is in `range`.
func check<T: Comparable>(_ value: T, in range: ClosedRange<T>, _ name: String) throws {
    guard range.contains(value) else {
        throw ValidationError("\(name) must be \(range.lowerBound)...\(range.upperBound), not \(value)")
    }
}

/// `stress`: recover, then log and apply workload batches until killed (or --seconds).
struct StressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress", abstract: "Recover, then log and apply batches, acknowledging durable LSNs.")

    @Argument(help: "The data directory.") var directory: String
    @Option(help: "Concurrent appenders, 1...4096.") var appenders = 8
    @Option(help: "How long to run, in seconds (positive).") var seconds = 30.0
    @Option(help: "Snapshot every this many LSNs, at least 1.") var snapshotEvery = 200
    @Option(help: "Segment size in bytes, at least 4096.") var segmentSize = 1 << 20
    @Option(name: .customLong("think-us"), help: "Pause of each appender between batches, in microseconds.")
    var thinkMicroseconds = 0
    @Option(help: "Most events per workload batch, 1...\(LedgerLimits.batchMax).") var batchMax = Workload().batchMax

    func validate() throws {
        try check(appenders, in: 1...4096, "--appenders")
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        try check(snapshotEvery, in: 1...Int.max, "--snapshot-every")
        try check(segmentSize, in: 4096...Int.max, "--segment-size")
        try check(thinkMicroseconds, in: 0...10_000_000, "--think-us")
        try check(batchMax, in: 1...LedgerLimits.batchMax, "--batch-max")
    }

    func run() async throws {
        var o = Stress.Options(directory: directory)
        o.appenders = appenders
        o.seconds = seconds
        o.snapshotEvery = snapshotEvery
        o.segmentSize = segmentSize
        o.thinkMicroseconds = thinkMicroseconds
        o.workload = Workload(batchMax: batchMax)
        guard let ledger = await Stress.open(o) else { throw ExitCode(2) }
        let code = await Stress.run(o, ledger: ledger)
        if code != 0 { throw ExitCode(code) }
    }
}

/// `bench-snapshot`: snapshot capture and write times at a given size.
struct SnapshotBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-snapshot", abstract: "Time snapshot capture and writing.")

    @Argument(help: "The directory to write snapshots in.") var directory: String
    @Option(help: "Accounts, at least 2.") var accounts = 1_000_000
    @Option(help: "Transfers, at least 1.") var transfers = 10_000_000
    @Option(help: "Runs, at least 1.") var runs = 3
    @Option(help: "Time only this many captures (no file), 0: capture and write.") var captureOnly = 0

    func validate() throws {
        try check(accounts, in: 2...Int.max, "--accounts")
        try check(transfers, in: 1...Int.max, "--transfers")
        try check(runs, in: 1...1_000, "--runs")
        try check(captureOnly, in: 0...1_000, "--capture-only")
    }

    func run() async throws {
        let code = SnapshotBench.run(directory: directory, accounts: accounts, transfers: transfers, runs: runs,
                                     captureOnly: captureOnly)
        if code != 0 { throw ExitCode(code) }
    }
}

/// `bench-replay`: recovery replay throughput.
struct ReplayBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-replay", abstract: "Time replaying a log.")

    @Argument(help: "The data directory to write the log in.") var directory: String
    @Option(help: "Accounts, at least 2.") var accounts = 100_000
    @Option(help: "Transfers, at least 1.") var transfers = 2_000_000
    @Option(help: "Transfers per batch, 1...\(LedgerLimits.batchMax).") var batch = LedgerLimits.batchMax
    @Option(help: "Runs, at least 1.") var runs = 3

    func validate() throws {
        try check(accounts, in: 2...Int.max, "--accounts")
        try check(transfers, in: 1...Int.max, "--transfers")
        try check(batch, in: 1...LedgerLimits.batchMax, "--batch")
        try check(runs, in: 1...1_000, "--runs")
    }

    func run() async throws {
        let code = await ReplayBench.run(directory: directory, accounts: accounts, transfers: transfers, batch: batch,
                                         runs: runs)
        if code != 0 { throw ExitCode(code) }
    }
}

/// `bench-shards`: execution-only throughput of the serial and the sharded ledger.
struct ShardBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-shards", abstract: "Execution-only throughput, serial against sharded.")

    @Argument(help: "Unused (`-` by convention; nothing is written).") var directory: String = "-"
    @Option(help: "Accounts, at least 2.") var accounts = ShardBench.Options().accounts
    @Option(help: "Transfers, at least 1.") var transfers = ShardBench.Options().transfers
    @Option(help: "Transfers per batch, 1...\(LedgerLimits.batchMax).") var batch = ShardBench.Options().batch
    @Option(help: "Runs, at least 1.") var runs = ShardBench.Options().runs
    @Option(help: "Shards, 1...\(ShardRouting.maxShards); 0: both 2 and 4.") var layout = 0
    @Option(help: "Cross-shard percent, 0...100; -1: 0, 50 and 100.") var cross = -1
    @Option(help: "Percent of two-phase transfers, 0...100.") var twoPhase = 0
    @Option(help: "Percent of linked transfers, 0...100.") var linked = 0
    @Option(help: "Percent of accounts with a balance limit, 0...100.") var limited = 0

    func validate() throws {
        try check(accounts, in: 2...Int.max, "--accounts")
        try check(transfers, in: 1...Int.max, "--transfers")
        try check(batch, in: 1...LedgerLimits.batchMax, "--batch")
        try check(runs, in: 1...1_000, "--runs")
        if layout != 0 { try check(layout, in: 1...ShardRouting.maxShards, "--layout") }
        if cross != -1 { try check(cross, in: 0...100, "--cross") }
        try check(twoPhase, in: 0...100, "--two-phase")
        try check(linked, in: 0...100, "--linked")
        try check(limited, in: 0...100, "--limited")
    }

    func run() async throws {
        var o = ShardBench.Options()
        o.accounts = accounts
        o.transfers = transfers
        o.batch = batch
        o.runs = runs
        if layout > 0 { o.shardCounts = [layout] }
        if cross >= 0 { o.crossPercents = [cross] }
        o.twoPhasePercent = twoPhase
        o.linkedPercent = linked
        o.limitedPercent = limited
        let code = await ShardBench.run(o)
        if code != 0 { throw ExitCode(code) }
    }
}

