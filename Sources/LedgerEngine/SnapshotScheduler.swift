package import LedgerCore
package import LedgerStorage
import Synchronization

/// Takes a snapshot every `every` LSNs, one at a time. The capture happens under the
/// sequencer's lock (that is the pause); the file is written on a dedicated thread once
/// the LSN it covers is durable (a snapshot must never cover a record the log could
/// still lose); then older snapshots and the segments they cover are removed.
package final class SnapshotScheduler: Sendable {
    /// What happened to one snapshot, for logs and benchmarks.
    package enum Outcome: Sendable {
        /// Written: how long the file took (after its LSN was durable) and its size.
        case written(lsn: UInt64, removedFiles: Int, seconds: Double, bytes: UInt64)
        case failed(lsn: UInt64, error: WALError)
    }

    let every: UInt64
    let store: SnapshotStore
    let writer: WALWriter
    private let onOutcome: @Sendable (Outcome) -> Void
    private let busy = Atomic<Bool>(false)
    private let inFlight = Mutex<Task<Void, Never>?>(nil)
    /// The oldest LSN whose segment must stay (replicas still need it); nil: none.
    private let retention = Mutex<(@Sendable () -> UInt64)?>(nil)

    /// Keeps the log from the LSN `oldestNeeded` returns (asked at each removal).
    package func retainLog(_ oldestNeeded: (@Sendable () -> UInt64)?) {
        retention.withLock { $0 = oldestNeeded }
    }

    package init(every: UInt64, directory: String, writer: WALWriter,
                 onOutcome: @escaping @Sendable (Outcome) -> Void = { _ in }) {
        self.every = every
        store = SnapshotStore(directory: directory)
        self.writer = writer
        self.onOutcome = onOutcome
    }

    /// True when a snapshot should be captured right after `lsn` (claims the single slot).
    package func claim(lsn: UInt64) -> Bool {
        guard every > 0, lsn % every == 0 else { return false }
        return busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Writes a captured snapshot in the background and releases the slot. `timeline`
    /// is the log's timeline `lsn` was appended in: a capture of a state that a failed
    /// log write took back is never written.
    package func write(_ image: LedgerSnapshot, lsn: UInt64, timeline: UInt64? = nil) {
        let store = self.store
        let writer = self.writer
        let onOutcome = self.onOutcome
        let retained = retention.withLock { $0 }
        let task = Task {
            defer { busy.store(false, ordering: .releasing) }
            do throws(WALError) {
                try await writer.waitDurable(lsn, timeline: timeline)
                let began = monotonicNow()
                let (removed, bytes) = try await DedicatedThread.run { () throws(WALError) -> SnapshotWriteResult in
                    let info = try store.write(image, lsn: lsn)
                    // The directory must hold this snapshot (or an older one and the log
                    // from there) before older files go.
                    try writer.control.recordSnapshot(lsn)
                    let keepLogFrom = retained?() ?? .max
                    return SnapshotWriteResult(removed: try store.removeObsolete(keep: 2, keepLogFrom: keepLogFrom).count,
                                               bytes: info.contentLength)
                }.pair
                onOutcome(.written(lsn: lsn, removedFiles: removed, seconds: monotonicNow() - began, bytes: bytes))
            } catch {
                // A failed snapshot loses nothing: the log still holds every batch.
                onOutcome(.failed(lsn: lsn, error: error))
            }
        }
        inFlight.withLock { $0 = task }
    }

    /// Waits until no snapshot is claimed or being written. A snapshot is claimed under
    /// the sequencer's lock but its write is registered just after it, so waiting for the
    /// registered task alone could miss one that is about to start.
    package func drain() async {
        while true {
            let task = inFlight.withLock { $0 }
            await task?.value
            if !busy.load(ordering: .acquiring) { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// What writing one snapshot file did, carried back from its thread.
private struct SnapshotWriteResult: Sendable {
    let removed: Int
    let bytes: UInt64
    var pair: (Int, UInt64) { (removed, bytes) }
}
