#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
package import LedgerStorage
import Synchronization

/// Takes a snapshot every `every` LSNs, or once `logBytes` bytes of log were written since
/// the last one (whichever comes first; 0 turns a trigger off), one at a time. The byte
/// trigger scales with the state: it also waits for as many bytes of log as the last
/// snapshot held, so writing snapshots never takes more of the disk than the log does
/// (and a restart replays at most about one snapshot's worth of log). The capture
/// happens under the sequencer's lock (that is the pause); the file is written on a
/// dedicated, lower-priority thread once the LSN it covers is durable (a snapshot must
/// never cover a record the log could still lose); then older snapshots and the segments
/// they cover are removed.
package final class SnapshotScheduler: Sendable {
    /// What happened to one snapshot, for logs and benchmarks.
    package enum Outcome: Sendable {
        /// Written: how long the file took (after its LSN was durable) and its size.
        case written(lsn: UInt64, removedFiles: Int, seconds: Double, bytes: UInt64)
        case failed(lsn: UInt64, error: WALError)
    }

    /// How much lower than the rest of the process the thread writing a file runs.
    static let niceness: Int32 = 10

    let every: UInt64
    /// Log bytes (record bodies) written since the last claim that make a snapshot due (0: never).
    let logBytes: UInt64
    let store: SnapshotStore
    let writer: WALWriter
    private let onOutcome: @Sendable (Outcome) -> Void
    private let busy = Atomic<Bool>(false)
    /// Record body bytes logged since the last snapshot was claimed.
    private let bytesSince = Atomic<UInt64>(0)
    /// The size of the last snapshot written (0: none yet): the byte trigger waits for at
    /// least this many bytes of log.
    private let lastSnapshotBytes = Atomic<UInt64>(0)
    private let inFlight = Mutex<Task<Void, Never>?>(nil)
    /// The oldest LSN whose segment must stay (replicas still need it); nil: none.
    private let retention = Mutex<(@Sendable () -> UInt64)?>(nil)

    /// Keeps the log from the LSN `oldestNeeded` returns (asked at each removal).
    package func retainLog(_ oldestNeeded: (@Sendable () -> UInt64)?) {
        retention.withLock { $0 = oldestNeeded }
    }

    package init(every: UInt64, logBytes: UInt64 = 0, directory: String, writer: WALWriter,
                 onOutcome: @escaping @Sendable (Outcome) -> Void = { _ in }) {
        self.every = every
        self.logBytes = logBytes
        store = SnapshotStore(directory: directory)
        self.writer = writer
        self.onOutcome = onOutcome
    }

    /// True when either trigger is on.
    package var enabled: Bool { every > 0 || logBytes > 0 }

    /// Counts a logged record's body toward the byte trigger (called as each record is logged).
    package func noteLogged(bytes: Int) {
        guard logBytes > 0 else { return }
        bytesSince.add(UInt64(max(bytes, 0)), ordering: .relaxed)
    }

    /// The log bytes that make the next snapshot due: `logBytes`, or the last snapshot's
    /// size when that is larger.
    package var byteThreshold: UInt64 { max(logBytes, lastSnapshotBytes.load(ordering: .relaxed)) }

    /// True when a snapshot should be captured right after `lsn` (claims the single slot).
    /// The byte count restarts when a snapshot is claimed; a snapshot due while another is
    /// still being written waits for a later LSN.
    package func claim(lsn: UInt64) -> Bool {
        let byLSN = every > 0 && lsn % every == 0
        let byBytes = logBytes > 0 && bytesSince.load(ordering: .relaxed) >= byteThreshold
        guard byLSN || byBytes else { return false }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return false
        }
        bytesSince.store(0, ordering: .relaxed)
        return true
    }

    /// Writes a captured snapshot in the background and releases the slot. `timeline`
    /// is the log's timeline `lsn` was appended in: a capture of a state that a failed
    /// log write took back is never written.
    package func write(_ capture: SnapshotCapture, lsn: UInt64, timeline: UInt64? = nil) {
        let store = self.store
        let writer = self.writer
        let onOutcome = self.onOutcome
        let retained = retention.withLock { $0 }
        let task = Task {
            defer { busy.store(false, ordering: .releasing) }
            do throws(WALError) {
                guard let image = await capture.image() else {
                    throw WALError(.stopped, "the batch at LSN \(lsn) did not apply: no snapshot")
                }
                try await writer.waitDurable(lsn, timeline: timeline)
                let began = monotonicNow()
                let (removed, bytes) = try await DedicatedThread.run { () throws(WALError) -> SnapshotWriteResult in
                    // Best effort, per thread on Linux: on a busy core the log writer and
                    // the request path go first; the snapshot only has to finish eventually.
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
                    let info = try store.write(image, lsn: lsn)
                    // The directory must hold this snapshot (or an older one and the log
                    // from there) before older files go.
                    try writer.control.recordSnapshot(lsn)
                    let keepLogFrom = retained?() ?? .max
                    return SnapshotWriteResult(removed: try store.removeObsolete(keep: 2, keepLogFrom: keepLogFrom).count,
                                               bytes: info.contentLength)
                }.pair
                lastSnapshotBytes.store(bytes, ordering: .relaxed)
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
