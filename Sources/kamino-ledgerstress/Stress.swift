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

/// `stress` mode: recover the ledger from the data directory (cutting a torn tail), then
/// let several appenders log and apply workload batches, printing
/// `ack <lsn> <timestamp> <events>` only once the LSN is durable.
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

    /// Start-up, synchronous (before any task runs): recovery and opening the log.
    static func open(_ o: Options) -> (Sequencer, Snapshotter)? {
        guard mkdir(o.directory, 0o755) == 0 || errno == EEXIST else {
            Output.error("cannot create \(o.directory) (errno \(errno))")
            return nil
        }
        let outcome: LedgerRecovery.Outcome
        do {
            outcome = try LedgerRecovery.recover(directory: o.directory, repair: true, segmentSize: o.segmentSize)
        } catch {
            Output.error("recovery failed: \(error)")
            return nil
        }
        let cut = outcome.report.cut.map { "\($0.file)@\($0.offset)" } ?? "none"
        Output.error("recovered lsn=\(outcome.lsn) snapshot=\(outcome.snapshot?.lsn ?? 0) replayed=\(outcome.replayedRecords) cut=\(cut)")
        let writer: WALWriter
        do throws(WALError) {
            (writer, _) = try WALWriter.open(WALConfiguration(directory: o.directory, segmentSize: o.segmentSize))
        } catch {
            Output.error("open failed: \(error)")
            return nil
        }
        guard writer.lastAssignedLSN == outcome.lsn else {
            Output.error("the log ends at LSN \(writer.lastAssignedLSN) but the recovered state covers \(outcome.lsn)")
            return nil
        }
        let sequencer = Sequencer(ledger: outcome.ledger, lsn: outcome.lsn, writer: writer, workload: o.workload)
        return (sequencer, Snapshotter(every: o.snapshotEvery, directory: o.directory, writer: writer))
    }

    static func run(_ o: Options, sequencer: Sequencer, snapshotter: Snapshotter) async -> Int32 {
        let deadline = monotonicSeconds() + o.seconds
        let think = UInt32(max(0, o.thinkMicroseconds))
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<max(1, o.appenders) {
                group.addTask {
                    while monotonicSeconds() < deadline {
                        do throws(Sequencer.Failure) {
                            let (batch, image) = try sequencer.next { snapshotter.claim(lsn: $0) }
                            if let (snapshot, pause) = image { snapshotter.write(snapshot, lsn: batch.lsn, pause: pause) }
                            try await waitDurable(sequencer.writer, batch.lsn)
                            Output.line("ack \(batch.lsn) \(batch.timestamp) \(batch.eventCount)")
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
        Output.error("longest snapshot pause ms=\(ms(snapshotter.longestPauseSeconds))")
        await sequencer.writer.close()
        return failures == 0 ? 0 : 1
    }

    private static func waitDurable(_ writer: WALWriter, _ lsn: UInt64) async throws(Sequencer.Failure) {
        do throws(WALError) {
            try await writer.waitDurable(lsn)
        } catch {
            throw Sequencer.Failure(code: .log, message: "LSN \(lsn) did not become durable: \(error)")
        }
    }
}
