#if canImport(Glibc)
import StressSupport
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerEngine
import LedgerStorage

/// `bench-replay` mode: writes a log of account batches then `transfers` transfers in
/// batches of `batch` (no snapshot), then recovers it `runs` times with `LedgerRecovery`
/// (read-only, as `kamino wal replay` does) and reports transfers/s.
enum ReplayBench {
    static func run(directory: String, accounts: Int, transfers: Int, batch: Int, runs: Int) async -> Int32 {
        _ = system("rm -rf '\(directory)'")
        let work = BenchWorkload(accounts: accounts, batch: min(max(1, batch), LedgerLimits.batchMax))
        var start = monotonicSeconds()
        do throws(WALError) {
            let (writer, _) = try await WALWriter.openAsync(WALConfiguration(directory: directory))
            var index = 0
            var last: UInt64 = 0
            for b in work.accountBatches() {
                index += 1
                last = try writer.append(operation: Operation.createAccounts.rawValue, timestamp: BenchWorkload.timestamp(batch: index),
                                         eventCount: UInt32(b.count), body: RecordCodec.encodeAccounts(b))
            }
            var made = 0
            while made < transfers {
                let n = min(work.batch, transfers - made)
                index += 1
                last = try writer.append(operation: Operation.createTransfers.rawValue, timestamp: BenchWorkload.timestamp(batch: index),
                                         eventCount: UInt32(n), body: RecordCodec.encodeTransfers(work.transferBatch(index, count: n)))
                made += n
                if index % 64 == 0 { try await writer.waitDurable(last) }
            }
            try await writer.waitDurable(last)
            await writer.close()
        } catch {
            Output.error("writing the log failed: \(error)")
            return 2
        }
        Output.line("log written: \(transfers) transfers in \(ms(monotonicSeconds() - start)) ms")
        var times: [Double] = []
        for run in 1...max(1, runs) {
            start = monotonicSeconds()
            do {
                let outcome = try LedgerRecovery.recover(directory: directory, repair: false)
                let t = monotonicSeconds() - start
                times.append(t)
                Output.line("run \(run): lsn=\(outcome.lsn) transfers=\(outcome.ledger.transferCount) events=\(outcome.replayedEvents) "
                    + "replay_ms=\(ms(t)) transfers/s=\(Int(Double(transfers) / t)) digest=\(outcome.ledger.digest())")
            } catch {
                Output.error("replay failed: \(error)")
                return 2
            }
        }
        Output.line("replay median_ms=\(ms(median(times))) transfers/s=\(Int(Double(transfers) / median(times)))")
        return breakdown(directory: directory, transfers: transfers)
    }

    /// Where one replay's time goes: validating the log (`WALRecovery`), reading the
    /// records (`WALReader`), and decoding + applying them from memory.
    static func breakdown(directory: String, transfers: Int) -> Int32 {
        do throws(WALError) {
            var start = monotonicSeconds()
            let report = try WALRecovery.recover(directory: directory, mode: .readOnly)
            let validate = monotonicSeconds() - start
            start = monotonicSeconds()
            var iterator = try WALReader(directory: directory).records(from: 1, through: report.lastLSN)
            var records: [LogRecord] = []
            while let r = try iterator.next() { records.append(r) }
            let read = monotonicSeconds() - start
            start = monotonicSeconds()
            let ledger = Ledger(memoryProvisioner: MemoryProvisioner.shared)
            for r in records {
                guard let op = Operation(rawValue: r.operation) else { return 3 }
                _ = try? r.body.withUnsafeBytes { try ledger.applyLogged(operation: op, timestamp: r.timestamp, body: $0) }
            }
            let apply = monotonicSeconds() - start
            Output.line("breakdown: validate_ms=\(ms(validate)) read_ms=\(ms(read)) decode+apply_ms=\(ms(apply)) "
                + "(apply alone: \(Int(Double(transfers) / apply)) transfers/s) transfers=\(ledger.transferCount)")
            return 0
        } catch {
            Output.error("breakdown failed: \(error)")
            return 2
        }
    }
}
