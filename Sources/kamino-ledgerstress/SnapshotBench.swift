#if canImport(Glibc)
import StressSupport
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerEngine
import LedgerStorage

/// `bench-snapshot` mode: builds a ledger in memory, then measures the snapshot capture
/// (the pause: the ledger is blocked while `snapshot()` runs), writing the file and
/// loading it back through `LedgerRecovery`; `runs` times each, reporting each and the median.
/// With `captureOnly` > 0 it only captures that many times (pause distribution, profiling).
enum SnapshotBench {
    static func run(directory: String, accounts: Int, transfers: Int, runs: Int, captureOnly: Int) -> Int32 {
        _ = system("rm -rf '\(directory)'")
        let work = BenchWorkload(accounts: accounts, batch: LedgerLimits.batchMax)
        let ledger = Ledger(expectedAccounts: accounts, expectedTransfers: transfers, memoryProvisioner: MemoryProvisioner.shared)
        var start = monotonicSeconds()
        var batchIndex = 0
        do {
            for b in work.accountBatches() {
                batchIndex += 1
                _ = try ledger.createAccounts(b, timestamp: BenchWorkload.timestamp(batch: batchIndex))
            }
            var made = 0
            while made < transfers {
                let n = min(work.batch, transfers - made)
                batchIndex += 1
                _ = try ledger.createTransfers(work.transferBatch(batchIndex, count: n), timestamp: BenchWorkload.timestamp(batch: batchIndex))
                made += n
            }
        } catch {
            Output.error("building the ledger failed: \(error)")
            return 2
        }
        Output.line("built accounts=\(ledger.accountCount) transfers=\(ledger.transferCount) in \(ms(monotonicSeconds() - start)) ms")
        // As the server does at start-up: map the capture buffers once, outside any pause.
        start = monotonicSeconds()
        ledger.prepareSnapshotMemory()
        Output.line("prepared snapshot memory in \(ms(monotonicSeconds() - start)) ms")

        if captureOnly > 0 {
            // Only the pause, many times (for its distribution and for profiling).
            var times: [Double] = []
            var captured = 0
            for _ in 0..<captureOnly {
                start = monotonicSeconds()
                let image = ledger.snapshot()
                times.append(monotonicSeconds() - start)
                captured &+= image.transferCount
            }
            Output.line("captures=\(captureOnly) transfers=\(captured / captureOnly) pause_ms median=\(ms(median(times))) min=\(ms(times.min() ?? 0)) max=\(ms(times.max() ?? 0))")
            Output.line("pause_ms each: " + times.map { ms($0) }.joined(separator: " "))
            return 0
        }
        var pauses: [Double] = []
        var writes: [Double] = []
        var loads: [Double] = []
        var bytes = 0
        let expected = ledger.digest()
        let store = SnapshotStore(directory: directory)
        for run in 1...max(1, runs) {
            start = monotonicSeconds()
            let image = ledger.snapshot()
            pauses.append(monotonicSeconds() - start)
            start = monotonicSeconds()
            do throws(WALError) {
                let info = try store.write(image, lsn: UInt64(run))
                bytes = Int(info.contentLength) + 64
            } catch {
                Output.error("snapshot write failed: \(error)")
                return 2
            }
            writes.append(monotonicSeconds() - start)
            start = monotonicSeconds()
            do {
                let outcome = try LedgerRecovery.recover(directory: directory, repair: false)
                loads.append(monotonicSeconds() - start)
                guard outcome.ledger.digest() == expected else {
                    Output.error("loaded state differs from the original")
                    return 3
                }
            } catch {
                Output.error("load failed: \(error)")
                return 2
            }
            Output.line("run \(run): pause_ms=\(ms(pauses[run - 1])) write_ms=\(ms(writes[run - 1])) load_ms=\(ms(loads[run - 1]))")
        }
        let mb = Double(bytes) / 1_000_000
        Output.line("snapshot bytes=\(bytes) pause_ms median=\(ms(median(pauses))) max=\(ms(pauses.max() ?? 0)) "
            + "write_ms median=\(ms(median(writes))) (\(Int(mb / median(writes))) MB/s) "
            + "load_ms median=\(ms(median(loads))) (\(Int(mb / median(loads))) MB/s, "
            + "\(Int(Double(transfers) / median(loads))) transfers/s)")
        return 0
    }
}
