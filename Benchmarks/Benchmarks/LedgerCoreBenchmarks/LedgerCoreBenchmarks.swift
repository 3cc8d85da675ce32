import Benchmark
import BenchSupport
import LedgerCore

// Each iteration applies (or looks up) one batch of 8189 events on one core, so
// transfers per second = iterations per second (the `throughput` metric) x 8189.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 5,
        maxDuration: .seconds(8),
        maxIterations: 400
    )

    Benchmark("create_transfers single-phase (10k accounts, batch 8189)") { benchmark in
        let workload = CoreWorkload(accounts: 10_000, expectedTransfers: 4_000_000)
        for _ in benchmark.scaledIterations {
            let batch = workload.singlePhaseBatch()
            benchmark.startMeasurement()
            blackHole(workload.apply(batch))
            benchmark.stopMeasurement()
        }
    }

    Benchmark("create_transfers two-phase (10k accounts, batch 8189)") { benchmark in
        let workload = CoreWorkload(accounts: 10_000, expectedTransfers: 4_000_000)
        for _ in benchmark.scaledIterations {
            let batch = workload.twoPhaseBatch()
            benchmark.startMeasurement()
            blackHole(workload.apply(batch))
            benchmark.stopMeasurement()
        }
    }

    Benchmark("lookup_transfers (1M stored, batch 8189)", configuration: .init(maxIterations: 200)) { benchmark in
        let workload = CoreWorkload(accounts: 10_000, expectedTransfers: 1_100_000)
        for _ in 0..<123 { workload.apply(workload.singlePhaseBatch()) }
        for _ in benchmark.scaledIterations {
            let ids = workload.randomTransferIds(LedgerLimits.batchMax)
            benchmark.startMeasurement()
            blackHole(workload.ledger.lookupTransfers(ids).count)
            benchmark.stopMeasurement()
        }
    }

    Benchmark("lookup_accounts (10k accounts, batch 8189)", configuration: .init(maxIterations: 200)) { benchmark in
        let workload = CoreWorkload(accounts: 10_000)
        for _ in benchmark.scaledIterations {
            let ids = workload.randomAccountIds(LedgerLimits.batchMax)
            benchmark.startMeasurement()
            blackHole(workload.ledger.lookupAccounts(ids).count)
            benchmark.stopMeasurement()
        }
    }
}
