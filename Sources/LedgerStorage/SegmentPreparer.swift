import CKaminoSys
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Prepares the log's next segment file ahead of the roll, on a thread of its own at low
/// priority: it writes a temporary file (`fileName`) full length with zeros and syncs it,
/// so that the writer's roll becomes a rename and a directory sync (`WriterThread`).
///
/// Why: log writes into `fallocate`d space land in unwritten extents, and each group's
/// fdatasync then also commits ext4's unwritten-to-written conversion to its journal
/// (p90 4-8 ms against 0.5 ms into blocks already written, docs/benchmarks.md session 11);
/// and the roll created, preallocated and synced the next file on the writer's path.
///
/// Why it is safe: a segment reads as "end of log" from the first zero header on
/// (`WALRecovery.validate`: `.end` when everything to the end of the file is zero), so a
/// prepared segment renamed in and never written reads exactly as a freshly fallocated
/// one. The temporary's name is no segment name (`SegmentName`), so every reader of the
/// directory (recovery, `wal verify`, `cdc`, replication read-back) ignores it; a start
/// removes it as a stale temporary (`DirectoryCheck`), and the writer removes it when the
/// log closes. The file is never recycled from an old segment: it holds zeros only.
package final class SegmentPreparer: Sendable {
    /// The temporary's name inside the data directory.
    package static let fileName = "log-prepared.tmp"

    /// `O_DIRECT` (Linux's value on x86-64 and arm64 differs: 0o40000 and 0o200000;
    /// Swift's Glibc module does not export the macro).
    private static let directIO: Int32 = {
        #if arch(arm64) || arch(aarch64)
        return 0o200000
        #else
        return 0o40000
        #endif
    }()

    /// How much lower than the rest of the process the preparing thread runs.
    static let niceness: Int32 = 10

    private struct State {
        /// A prepared file, open and synced, not yet taken.
        var ready: Int32?
        /// True while a thread prepares.
        var running = false
        /// Set by `stop`: a running preparation gives up at its next chunk.
        var stopping = false
        /// Preparations that failed (a full disk, say): the roll then creates its file itself.
        var failures = 0
    }

    private let directory: String
    private let path: String
    private let size: Int
    private let state = Mutex(State())

    init(directory: String, segmentSize: Int) {
        precondition(segmentSize > 0, "a segment has a size")
        self.directory = directory
        self.path = FileIO.join(directory, Self.fileName)
        self.size = segmentSize
    }

    /// Starts preparing a file unless one is ready or being prepared. Never blocks.
    func request() {
        let start = state.withLock { s -> Bool in
            guard s.ready == nil, !s.running, !s.stopping else { return false }
            s.running = true
            return true
        }
        guard start else { return }
        do throws(WALError) {
            try DedicatedThread.start {
                DedicatedThread.name("kamino-segprep")
                // Linux: the nice value is per thread, and `who` 0 is the calling thread.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
                // Its writes go to the disk after the log's (best effort).
                _ = kamino_thread_io_idle()
                self.prepare()
            }
        } catch {
            state.withLock { $0.running = false }  // no thread: the roll creates its file
        }
    }

    /// The prepared file's descriptor, if one is ready: the caller now owns it and must
    /// rename `path` away (or remove it) before the next `request`.
    func take() -> Int32? {
        state.withLock { s -> Int32? in
            defer { s.ready = nil }
            return s.ready
        }
    }

    /// The temporary's path.
    var preparedPath: String { path }

    /// Preparations that failed so far.
    var failures: Int { state.withLock { $0.failures } }

    /// Stops preparing, waits for a running preparation, and removes the temporary.
    func stop() {
        state.withLock { $0.stopping = true }
        while state.withLock({ $0.running }) { usleep(500) }
        if let fd = take() { FileIO.close(fd) }
        if FileIO.exists(path) {
            try? FileIO.unlink(path)
            try? FileIO.fsyncDirectory(directory)
        }
    }

    /// Writes the temporary full length with zeros and syncs it (on the preparing thread).
    private func prepare() {
        var fd: Int32 = -1
        do throws(WALError) {
            // Direct I/O: the zeros go from one buffer to the disk, not through a segment's
            // worth of fresh page-cache pages (1-2 ns a byte of this process's CPU on these
            // VMs, measured: 0.2 µs per transfer at batches of 8189). A file system
            // without it (tmpfs) gets buffered writes.
            if size % 4096 == 0 {
                fd = Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC | Self.directIO | O_CLOEXEC, 0o644)
            }
            if fd < 0 { fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC) }
            let chunk = 1 << 20
            let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
            defer { zeros.deallocate() }
            zeros.initializeMemory(as: UInt8.self, repeating: 0)
            var offset = 0
            while offset < size {
                if state.withLock({ $0.stopping }) { throw WALError(.closed, "log closing") }
                let n = min(chunk, size - offset)
                try FileIO.pwrite(fd, UnsafeRawBufferPointer(rebasing: zeros[..<n]), offset: offset, path: path)
                offset += n
            }
            // Data and size: the rename at the roll then needs only the directory synced.
            try FileIO.fsync(fd, path: path)
            // The writer's appends are not block-aligned: it gets a descriptor without O_DIRECT.
            let direct = fd
            fd = try FileIO.open(path, O_RDWR)
            FileIO.close(direct)
        } catch {
            if fd >= 0 { FileIO.close(fd) }
            try? FileIO.unlink(path)
            state.withLock { s in
                s.running = false
                if error.code != .closed { s.failures += 1 }
            }
            return
        }
        state.withLock { s in
            assert(s.ready == nil, "one prepared file at a time")
            s.ready = fd
            s.running = false
        }
    }
}
