import LedgerCore
import LedgerStorage
import LedgerWorkload
import Synchronization

/// Orders batches the way the server will: under one lock, take the next LSN, append the
/// batch to the log and apply it to the ledger, so LSN order is apply order. Waiting for
/// durability happens outside the lock (group commit).
final class Sequencer: Sendable {
    /// What the lock protects.
    struct State {
        let ledger: Ledger
        /// The LSN the ledger covers.
        var lsn: UInt64
    }

    /// Why a batch could not be sequenced.
    struct Failure: Error, CustomStringConvertible {
        /// The kind of failure.
        enum Code: Sendable { case log, lsnMismatch, apply }
        let code: Code
        let message: String
        var description: String { message }
    }

    let writer: WALWriter
    let workload: Workload
    private let state: Mutex<State>

    init(ledger: sending Ledger, lsn: UInt64, writer: WALWriter, workload: Workload) {
        self.writer = writer
        self.workload = workload
        state = Mutex(State(ledger: ledger, lsn: lsn))
    }

    /// Logs and applies the workload's next batch; returns it. When `snapshot(lsn)` says
    /// so, also captures a snapshot right after the batch (inside the lock: that is the pause) and
    /// returns it with the capture time in seconds.
    func next(snapshotAfter snapshot: (UInt64) -> Bool) throws(Failure) -> (batch: WorkloadBatch, snapshot: (LedgerSnapshot, Double)?) {
        let workload = self.workload
        let writer = self.writer
        return try state.withLock { (s) throws(Failure) -> (WorkloadBatch, (LedgerSnapshot, Double)?) in
            let lsn = s.lsn + 1
            let batch = workload.batch(lsn: lsn)
            let assigned: UInt64
            do throws(WALError) {
                assigned = try writer.append(operation: batch.operation.rawValue, timestamp: batch.timestamp,
                                             eventCount: UInt32(batch.eventCount), body: batch.encoded())
            } catch {
                throw Failure(code: .log, message: "append of LSN \(lsn) failed: \(error)")
            }
            guard assigned == lsn else {
                throw Failure(code: .lsnMismatch, message: "the log assigned LSN \(assigned), the ledger expected \(lsn)")
            }
            do throws(LedgerError) {
                try batch.apply(to: s.ledger)
            } catch {
                throw Failure(code: .apply, message: "LSN \(lsn) does not apply: \(error)")
            }
            s.lsn = lsn
            guard snapshot(lsn) else { return (batch, nil) }
            let start = monotonicSeconds()
            let image = s.ledger.snapshot()
            return (batch, (image, monotonicSeconds() - start))
        }
    }
}
