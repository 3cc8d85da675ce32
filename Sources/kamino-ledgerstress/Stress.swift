#if canImport(Glibc)
import StressSupport
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerEngine
import LedgerStorage
import LedgerWorkload

/// `stress` mode: open the data directory with the server's own engine (`DurableLedger`:
/// recovery, a torn tail cut, snapshots every `snapshotEvery` LSNs), then let several
/// appenders submit workload batches, printing `ack <lsn> <timestamp> <events>` only once
/// the LSN is durable. The batch at each LSN is the workload's batch for that LSN, under
/// its own timestamp, so a test can re-derive the state from the generator alone.
enum Stress {
    /// Options of `stress`.
    struct Options {
        var directory: String
        var appenders = 8
        var seconds = 30.0
        var snapshotEvery = 200
        var segmentSize = 1 << 20
        var thinkMicroseconds = 0
        var workload = Workload()
    }

    /// Start-up: the directory (created if absent), recovery and opening the log.
    static func open(_ o: Options) async -> DurableLedger? {
        let ledger: DurableLedger
        do {
            ledger = try await DurableLedger.open(
                directory: o.directory, segmentSize: o.segmentSize, snapshotEvery: UInt64(max(o.snapshotEvery, 0))
            ) { outcome in
                switch outcome {
                case .written(let lsn, let removed, _, _): Output.error("snapshot lsn=\(lsn) written, removed=\(removed)")
                case .failed(let lsn, let error): Output.error("snapshot at LSN \(lsn) failed: \(error)")
                }
            }
        } catch {
            Output.error("open failed: \(error)")
            return nil
        }
        Output.error("recovered lsn=\(await ledger.status().lsn)")
        return ledger
    }

    static func run(_ o: Options, ledger: DurableLedger) async -> Int32 {
        let deadline = monotonicSeconds() + o.seconds
        let think = UInt32(max(0, o.thinkMicroseconds))
        let workload = o.workload
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<max(1, o.appenders) {
                group.addTask {
                    while monotonicSeconds() < deadline {
                        do throws(EngineError) {
                            let (batch, _) = try await ledger.submit { lsn in
                                let batch = workload.batch(lsn: lsn)
                                switch batch.events {
                                case .accounts(let a): return (batch.timestamp, .accounts(a))
                                case .transfers(let t): return (batch.timestamp, .transfers(t))
                                }
                            }
                            Output.line("ack \(batch.lsn) \(batch.timestamp) \(batch.events.count)")
                        } catch {
                            Output.error("\(error)")
                            return 1
                        }
                        if think > 0 { try? await Task.sleep(for: .microseconds(think)) }
                    }
                    return 0
                }
            }
            return await group.reduce(0, +)
        }
        await ledger.close()
        return failures == 0 ? 0 : 1
    }
}
