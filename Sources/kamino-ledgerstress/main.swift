#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerEngine
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

let args = CommandLine.arguments
guard args.count >= 3 else {
    Output.error("usage: kamino-ledgerstress stress|bench-snapshot|bench-replay|bench-shards DIR [options]")
    exit(64)
}
let directory = args[2]
switch args[1] {
case "stress":
    var o = Stress.Options(directory: directory)
    o.appenders = option("--appenders", args, default: o.appenders)
    o.seconds = option("--seconds", args, default: o.seconds)
    o.snapshotEvery = option("--snapshot-every", args, default: o.snapshotEvery)
    o.segmentSize = option("--segment-size", args, default: o.segmentSize)
    o.thinkMicroseconds = option("--think-us", args, default: 0)
    o.workload = Workload(batchMax: option("--batch-max", args, default: o.workload.batchMax))
    guard let ledger = await Stress.open(o) else { exit(2) }
    exit(await Stress.run(o, ledger: ledger))
case "bench-snapshot":
    exit(SnapshotBench.run(directory: directory, accounts: option("--accounts", args, default: 1_000_000),
                           transfers: option("--transfers", args, default: 10_000_000), runs: option("--runs", args, default: 3),
                           captureOnly: option("--capture-only", args, default: 0)))
case "bench-replay":
    exit(await ReplayBench.run(directory: directory, accounts: option("--accounts", args, default: 100_000),
                               transfers: option("--transfers", args, default: 2_000_000),
                               batch: option("--batch", args, default: 8189), runs: option("--runs", args, default: 3)))
case "bench-shards":
    var o = ShardBench.Options()
    o.accounts = option("--accounts", args, default: o.accounts)
    o.transfers = option("--transfers", args, default: o.transfers)
    o.batch = min(max(1, option("--batch", args, default: o.batch)), LedgerLimits.batchMax)
    o.runs = max(1, option("--runs", args, default: o.runs))
    let layout = option("--layout", args, default: 0)
    if layout > 0 { o.shardCounts = [min(layout, ShardRouting.maxShards)] }
    let cross = option("--cross", args, default: -1)
    if cross >= 0 { o.crossPercents = [min(cross, 100)] }
    o.twoPhasePercent = option("--two-phase", args, default: 0)
    o.linkedPercent = option("--linked", args, default: 0)
    o.limitedPercent = option("--limited", args, default: 0)
    exit(await ShardBench.run(o))
default:
    Output.error("unknown mode \(args[1])")
    exit(64)
}
