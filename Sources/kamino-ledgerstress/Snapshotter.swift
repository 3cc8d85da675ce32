import StressSupport
import LedgerCore
import LedgerEngine
import LedgerStorage
import Synchronization

/// Takes a snapshot every `every` LSNs, one at a time: the capture happens inside the
/// sequencer's lock; the file is written on a dedicated thread once the LSN it covers
/// is durable (a snapshot must never cover a record the log could still lose), then
/// older snapshots and the segments they cover are removed.
final class Snapshotter: Sendable {
    let every: UInt64
    let store: SnapshotStore
    let writer: WALWriter
    private let busy = Atomic<Bool>(false)
    private let longestPause = Mutex<Double>(0)

    init(every: Int, directory: String, writer: WALWriter) {
        self.every = UInt64(max(every, 0))
        store = SnapshotStore(directory: directory)
        self.writer = writer
    }

    /// True when a snapshot should be captured right after `lsn` (claims the single slot).
    func claim(lsn: UInt64) -> Bool {
        guard every > 0, lsn % every == 0 else { return false }
        return busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Writes a captured snapshot in the background and releases the slot.
    func write(_ image: LedgerSnapshot, lsn: UInt64, pause: Double) {
        longestPause.withLock { $0 = max($0, pause) }
        let store = self.store
        Task {
            defer { busy.store(false, ordering: .releasing) }
            do throws(WALError) {
                try await writer.waitDurable(lsn)
                let start = monotonicSeconds()
                let removed = try await DedicatedThread.run { () throws(WALError) -> Int in
                    _ = try store.write(image, lsn: lsn)
                    return try store.removeObsolete(keep: 2).count
                }
                Output.error("snapshot lsn=\(lsn) accounts=\(image.accountCount) transfers=\(image.transferCount) "
                    + "pause_ms=\(ms(pause)) write_ms=\(ms(monotonicSeconds() - start)) removed=\(removed)")
            } catch {
                Output.error("snapshot at LSN \(lsn) failed: \(error)")
            }
        }
    }

    var longestPauseSeconds: Double { longestPause.withLock { $0 } }
}

func ms(_ seconds: Double) -> String { String((seconds * 100_000).rounded() / 100) }
