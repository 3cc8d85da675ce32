#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Writes the control file's promise for each new log segment (`recordNewSegment`) on a
/// thread of its own, so that the log's writer does not wait for it when it rolls to the
/// next segment: the update writes a temporary file, syncs it, renames it and syncs the
/// directory, 5-20 ms on these VMs, once every 64 MiB of log (every 64 batches of 8189
/// transfers: the p99 of that shape). The promise is only ever older than the directory:
/// a segment is recorded after it was created and synced, and a crash before the record
/// leaves the previous promise, which the directory still keeps (an update that fails is
/// dropped the same way, as before). The writer waits for the updates in progress before
/// it records its own last word at exit (`waitIdle`), so a later update never overwrites
/// a clean shutdown.
final class SegmentRecords: Sendable {
    private struct State {
        /// The newest segment still to record.
        var pending: UInt64?
        /// True while a thread records (from `record` until it found nothing more to do).
        var running = false
    }

    private let control: ControlFileKeeper
    private let state = Mutex(State())

    init(control: ControlFileKeeper) {
        self.control = control
    }

    /// Records, soon and off the calling thread, that a segment starting at `firstLSN`
    /// was created (and synced with its directory).
    func record(firstLSN: UInt64) {
        let start = state.withLock { s -> Bool in
            s.pending = max(s.pending ?? 0, firstLSN)
            guard !s.running else { return false }
            s.running = true
            return true
        }
        guard start else { return }
        do throws(WALError) {
            try DedicatedThread.start {
                DedicatedThread.name("kamino-control")
                self.drain()
            }
        } catch {
            drain()  // no thread: here, as before
        }
    }

    /// Waits until no update is pending or in progress.
    func waitIdle() {
        while state.withLock({ $0.running }) { usleep(500) }
    }

    private func drain() {
        while let lsn = state.withLock({ s -> UInt64? in
            guard let lsn = s.pending else {
                s.running = false
                return nil
            }
            s.pending = nil
            return lsn
        }) {
            try? control.recordNewSegment(firstLSN: lsn)
        }
    }
}
