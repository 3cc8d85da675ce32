import StressSupport
import LedgerCore
import LedgerEngine
import LedgerStorage
import Synchronization

/// The engine's snapshot scheduler, plus the longest capture pause for the report.
final class Snapshotter: Sendable {
    private let scheduler: SnapshotScheduler
    private let longestPause = Mutex<Double>(0)

    init(every: Int, directory: String, writer: WALWriter) {
        scheduler = SnapshotScheduler(every: UInt64(max(every, 0)), directory: directory, writer: writer) { outcome in
            switch outcome {
            case .written(let lsn, let removed, _, _): Output.error("snapshot lsn=\(lsn) written, removed=\(removed)")
            case .failed(let lsn, let error): Output.error("snapshot at LSN \(lsn) failed: \(error)")
            }
        }
    }

    /// True when a snapshot should be captured right after `lsn` (claims the single slot).
    func claim(lsn: UInt64) -> Bool { scheduler.claim(lsn: lsn) }

    /// Writes a captured snapshot in the background once its LSN is durable.
    func write(_ image: LedgerSnapshot, lsn: UInt64, pause: Double) {
        longestPause.withLock { $0 = max($0, pause) }
        scheduler.write(image, lsn: lsn)
    }

    var longestPauseSeconds: Double { longestPause.withLock { $0 } }
}

func ms(_ seconds: Double) -> String { String((seconds * 100_000).rounded() / 100) }
