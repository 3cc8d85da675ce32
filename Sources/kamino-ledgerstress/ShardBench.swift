#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerEngine
import LedgerStorage
import LedgerWorkload
import StressSupport

/// `bench-shards` mode: execution-only throughput (no network, no log) of the sharded
/// engine against one shard and the serial ledger, on TigerBeetle-shaped batches (free
/// accounts, batches of `batch`) whose share of cross-shard transfers is set for a
/// K-shard layout. Runs alternate between configurations; medians are reported.
enum ShardBench {
    struct Options {
        var accounts = 10_000
        var transfers = 2_000_000
        var batch = LedgerLimits.batchMax
        var runs = 3
        var shardCounts = [2, 4]
        var crossPercents = [0, 50, 100]
        /// Share of two-phase transfers (pending then post) and of linked pairs, percent.
        var twoPhasePercent = 0
        var linkedPercent = 0
        /// Share of accounts with `debits_must_not_exceed_credits` (the bank shape: no
        /// overdraft on customer accounts), percent.
        var limitedPercent = 0
    }

    static func run(_ o: Options) async -> Int32 {
        print("bench-shards: \(o.accounts) accounts, \(o.transfers) transfers, batches of \(o.batch), "
            + "two-phase \(o.twoPhasePercent)%, linked \(o.linkedPercent)%, limited accounts \(o.limitedPercent)%, "
            + "\(o.runs) runs (alternating); medians")
        for k in o.shardCounts {
            for cross in o.crossPercents {
                let (accounts, batches) = workload(o, layout: k, crossPercent: cross)
                var serial: [Double] = []
                var one: [Double] = []
                var many: [Double] = []
                var last: ShardedEngine? = nil
                var lastOne: ShardedEngine? = nil
                for _ in 0..<o.runs {
                    serial.append(measureSerial(accounts, batches))
                    let (oneSeconds, oneEngine) = await measure(ShardedEngine(shardCount: 1, expectedTransfers: o.transfers), accounts, batches)
                    one.append(oneSeconds)
                    lastOne = oneEngine
                    let (seconds, engine) = await measure(ShardedEngine(shardCount: k, expectedTransfers: o.transfers), accounts, batches)
                    many.append(seconds)
                    last = engine
                }
                let rate = { (s: [Double]) in Double(o.transfers) / median(s) }
                guard let engine = last else { continue }
                let stats = engine.ledger.stats
                let t = engine.phaseTimes
                let perBatch = { (seconds: Double) in 1000 * seconds / Double(batches.count) }
                let crossShare = stats.parallelEvents > 0 ? 100 * Double(stats.crossShardEvents) / Double(stats.parallelEvents) : 0
                let rates = "serial Ledger \(f2(rate(serial) / 1e6)) M/s | 1 shard \(f2(rate(one) / 1e6)) M/s | "
                    + "\(k) shards \(f2(rate(many) / 1e6)) M/s = \(f2(median(one) / median(many)))x of 1 shard "
                    + "(\(f2(median(serial) / median(many)))x of serial)"
                var reasons: [String] = []
                for r in SerialReason.allCases where stats.serialBatches[r.rawValue] > 0 {
                    reasons.append("\(r.label)=\(stats.serialBatches[r.rawValue])")
                }
                let counts = "parallel batches \(stats.parallelBatches), fallback \(stats.fallbackBatches) "
                    + "(serial: \(reasons.joined(separator: " "))), cross-shard events \(f2(crossShare))%"
                // Load-independent view: thread CPU of the rounds. `critical` is the sum over
                // rounds of the slowest shard, what the rounds cost on dedicated cores.
                let oneEngine = lastOne
                let cpuPerTransfer = { (e: ShardedEngine?) in 1e9 * (e?.phaseTimes.roundCPU ?? 0) / Double(o.transfers) }
                let critical = { (e: ShardedEngine?) in 1e9 * (e?.phaseTimes.roundCriticalPath ?? 0) / Double(o.transfers) }
                let cpu = "round CPU ns/transfer: 1 shard \(f2(cpuPerTransfer(oneEngine))) (critical \(f2(critical(oneEngine)))), "
                    + "\(k) shards \(f2(cpuPerTransfer(engine))) (critical \(f2(critical(engine)))) = \(f2(critical(oneEngine) / critical(engine)))x"
                let phases = "per batch ms: begin \(f3(perBatch(t.begin))) resolve \(f3(perBatch(t.resolve))) "
                    + "plan \(f3(perBatch(t.plan))) execute \(f3(perBatch(t.execute))) settle \(f3(perBatch(t.settle)))"
                print("layout \(k) shards, \(cross)% cross: " + rates + " | " + counts + " | " + cpu + " | " + phases)
            }
        }
        return 0
    }

    static func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

    static func f2(_ x: Double) -> String { fixed(x, 100) }
    static func f3(_ x: Double) -> String { fixed(x, 1000) }

    static func fixed(_ x: Double, _ scale: Int) -> String {
        guard x.isFinite else { return "\(x)" }
        let n = Int((x * Double(scale)).rounded())
        let digits = String(scale).count - 1
        let fraction = String(abs(n) % scale)
        return "\(n < 0 ? "-" : "")\(abs(n) / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    /// Free accounts, and transfer batches in which `crossPercent` of the transfers have
    /// their accounts on two different shards of a `layout`-shard ledger.
    static func workload(_ o: Options, layout: Int, crossPercent: Int) -> ([Account], [[Transfer]]) {
        let routing = ShardRouting(shardCount: layout)
        let accounts = (1...o.accounts).map {
            Account(id: UInt128($0), ledger: 1, code: 1,
                    flags: $0 % 100 < o.limitedPercent ? .debitsMustNotExceedCredits : [])
        }
        var byShard = Array(repeating: [UInt128](), count: layout)
        for a in accounts { byShard[routing.shard(ofAccount: a.id)].append(a.id) }
        var rng = SplitMix64(seed: UInt64(layout * 1000 + crossPercent))
        var batches: [[Transfer]] = []
        var id: UInt128 = 1 << 64
        var pending: [UInt128] = []
        var made = 0
        while made < o.transfers {
            let n = min(o.batch, o.transfers - made)
            var batch: [Transfer] = []
            batch.reserveCapacity(n)
            for i in 0..<n {
                id += 1
                if Int(rng.next() % 100) < o.twoPhasePercent / 2, let p = pending.popLast() {
                    batch.append(Transfer(id: id, amount: .max, pendingId: p, flags: .postPendingTransfer))
                    continue
                }
                let dr = accounts[Int(rng.next() % UInt64(accounts.count))].id
                let home = routing.shard(ofAccount: dr)
                let crossing = layout > 1 && Int(rng.next() % 100) < crossPercent
                var target = home
                if crossing { target = (home + 1 + Int(rng.next() % UInt64(layout - 1))) % layout }
                var cr = dr
                while cr == dr { cr = byShard[target][Int(rng.next() % UInt64(byShard[target].count))] }
                var flags: TransferFlags = []
                if Int(rng.next() % 100) < o.twoPhasePercent / 2 {
                    flags.insert(.pending)
                    pending.append(id)
                }
                if i < n - 1, Int(rng.next() % 100) < o.linkedPercent / 2 { flags.insert(.linked) }
                batch.append(Transfer(id: id, debitAccountId: dr, creditAccountId: cr, amount: UInt128(1 + rng.next() % 100),
                                      ledger: 1, code: 1, flags: flags))
            }
            // Chains of new transfers (multi-leg payments); a chain that ends in a post
            // would make a cross-shard chain with a post, which runs serially.
            for k in batch.indices.dropLast() where batch[k + 1].pendingId != 0 { batch[k].flags.remove(.linked) }
            batches.append(batch)
            made += n
        }
        return (accounts, batches)
    }

    static func chunks(_ accounts: [Account]) -> [[Account]] {
        stride(from: 0, to: accounts.count, by: LedgerLimits.batchMax).map {
            Array(accounts[$0..<min($0 + LedgerLimits.batchMax, accounts.count)])
        }
    }

    static func measureSerial(_ accounts: [Account], _ batches: [[Transfer]]) -> Double {
        let ledger = Ledger(
            expectedAccounts: accounts.count, expectedTransfers: batches.count * LedgerLimits.batchMax,
            memoryProvisioner: MemoryProvisioner.shared)
        var ts: UInt64 = 1_000_000_000
        for chunk in chunks(accounts) {
            ts += 1_000_000
            _ = try? ledger.createAccounts(chunk, timestamp: ts)
        }
        let start = monotonicSeconds()
        for b in batches {
            ts += 1_000_000
            _ = try? ledger.createTransfers(b, timestamp: ts)
        }
        return monotonicSeconds() - start
    }

    static func measure(_ engine: ShardedEngine, _ accounts: [Account], _ batches: [[Transfer]]) async -> (Double, ShardedEngine) {
        var ts: UInt64 = 1_000_000_000
        for chunk in chunks(accounts) {
            ts += 1_000_000
            _ = try? engine.createAccounts(chunk, timestamp: ts)
        }
        let start = monotonicSeconds()
        for b in batches {
            ts += 1_000_000
            _ = try? await engine.createTransfers(b, timestamp: ts)
        }
        return (monotonicSeconds() - start, engine)
    }
}
