#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The open segment the writer appends to.
struct OpenSegment {
    let name: SegmentName
    let path: String
    let fd: Int32
    var offset: Int
    /// Below this offset the log's pages were dropped from the page cache once durable
    /// (`FileIO.dropCachedPages`); a page boundary.
    var uncachedBelow: Int = 0
}

/// The body of the dedicated writer thread: it owns the io_uring ring and the
/// segment file descriptors, takes everything appended since its last write
/// (group commit), writes it with a linked write+fdatasync chain, and
/// publishes the new durable LSN.
final class WriterThread: @unchecked Sendable {
    // @unchecked: after `start()` the instance is used only by its own thread.
    let shared: WriterShared
    let config: WALConfiguration
    let ring: IOUring
    private let directoryFD: Int32
    var segment: OpenSegment?
    private(set) var durable: UInt64
    private var spare: [UInt8] = []
    private let control: ControlFileKeeper
    /// Records each new segment in the control file off this thread.
    private let segmentRecords: SegmentRecords
    /// Prepares the next segment file off this thread (nil: the roll creates it).
    private let preparer: SegmentPreparer?
    /// The offset in the open segment from which the next one is prepared: late enough
    /// that a log that writes little never writes a segment of zeros, early enough that
    /// the preparation (one segment of zeros) is done before the roll (batches of 8189
    /// transfers fill a 64 MiB segment in about a quarter of a second).
    private let prepareFrom: Int

    init(shared: WriterShared, config: WALConfiguration, segment: OpenSegment?, durable: UInt64,
         control: ControlFileKeeper) throws(WALError) {
        self.shared = shared
        self.control = control
        self.segmentRecords = SegmentRecords(control: control)
        self.preparer = config.prepareSegments && config.preallocation == .fallocate
            ? SegmentPreparer(directory: config.directory, segmentSize: config.segmentSize) : nil
        self.prepareFrom = min(config.segmentSize / 8, 1 << 20)
        self.config = config
        self.segment = segment
        self.durable = durable
        self.ring = try IOUring(entries: 8)
        self.directoryFD = try FileIO.open(config.directory, O_RDONLY | O_DIRECTORY)
    }

    deinit {
        if let segment { FileIO.close(segment.fd) }
        FileIO.close(directoryFD)
    }

    /// Starts the pthread; it runs until the log is closed or fails.
    func start() throws(WALError) {
        try DedicatedThread.start {
            DedicatedThread.name("kamino-log")
            self.run()
        }
    }

    /// What the writer loop does next.
    private enum Step { case work, sleep, recover, exit }

    private func run() {
        while true {
            var batch = spare
            let step: Step = shared.state.withLock { s in
                if s.failure != nil { return s.closing ? .exit : .recover }
                if s.pending.isEmpty {
                    if s.closing { return .exit }
                    s.writerIdle = true
                    return .sleep
                }
                swap(&batch, &s.pending)
                return .work
            }
            switch step {
            case .exit:
                // Record how far the log is durable (a clean shutdown when closed without
                // a failure), then free the directory and the waiters.
                let (closing, failed) = shared.state.withLock { ($0.closing, $0.failure != nil) }
                segmentRecords.waitIdle()
                preparer?.stop()
                try? control.recordDurable(durable, cleanShutdown: closing && !failed)
                shared.finish()
                return
            case .sleep:
                shared.wakeup.wait()
                continue
            case .recover:
                recoverFromFailure()
                continue
            case .work:
                do throws(WALError) {
                    try process(&batch)
                } catch {
                    shared.fail(error)
                }
                batch.removeAll(keepingCapacity: true)
                spare = batch
            }
        }
    }

    /// Writes a group of encoded records, splitting it where a segment is full.
    private func process(_ batch: inout [UInt8]) throws(WALError) {
        let total = batch.count
        var cursor = 0
        while cursor < total {
            let room = segment.map { config.segmentSize - $0.offset } ?? 0
            // Find the longest run of whole records that fits in the segment.
            let (end, count, firstLSN, lastLSN, newest) = batch.withUnsafeBytes {
                buf -> (Int, Int, UInt64, UInt64, UInt64) in
                guard let base = buf.baseAddress else { return (cursor, 0, 0, 0, 0) }
                var end = cursor, count = 0, first: UInt64 = 0, last: UInt64 = 0, newest: UInt64 = 0
                while end < total {
                    let p = base + end
                    let length = RecordHeader.size + RecordHeader.paddedLength(
                        Int(RecordHeader.load(p, RecordHeader.offBodyLength, as: UInt32.self)))
                    let lsn = RecordHeader.load(p, RecordHeader.offLSN, as: UInt64.self)
                    if count == 0 { first = lsn }
                    if end - cursor + length > room { break }
                    end += length
                    count += 1
                    last = lsn
                    newest = max(newest, RecordHeader.load(p, RecordHeader.offTimestamp, as: UInt64.self))
                }
                return (end, count, first, last, newest)
            }
            if count == 0 {
                try rollSegment(firstLSN: firstLSN)
                continue
            }
            guard var seg = segment else { return }
            let watermark = durable
            let began = Self.monotonicSeconds()
            try batch.withMutableBytes { buf throws(WALError) in
                guard let base = buf.baseAddress else { return }
                var at = cursor
                while at < end {
                    let p = base + at
                    RecordHeader.patchWatermark(watermark, at: p)
                    at += RecordHeader.size + RecordHeader.paddedLength(
                        Int(RecordHeader.load(p, RecordHeader.offBodyLength, as: UInt32.self)))
                }
                let bytes = UnsafeRawBufferPointer(rebasing: buf[cursor..<end])
                // Replicas receive the records while this write and its fdatasync run.
                if let shipper = shared.shipper.withLock({ $0 }) {
                    shipper.ship(bytes, firstLSN: firstLSN, lastLSN: lastLSN, count: count)
                }
                try writeDurably(bytes, segment: seg)
            }
            seg.offset += end - cursor
            durable = lastLSN
            shared.publishDurable(lastLSN, timestamp: newest, records: count, bytes: end - cursor)
            if let observer = shared.observer.withLock({ $0 }) {
                observer.groupCommitted(records: count, bytes: end - cursor, seconds: Self.monotonicSeconds() - began)
            }
            // The group is durable and answered: its pages leave the cache, so that the
            // next group is copied into pages just freed instead of fresh ones. Replay and
            // catch-up read the log from the disk.
            let pageEnd = seg.offset & ~(Self.pageSize - 1)
            if pageEnd > seg.uncachedBelow {
                FileIO.dropCachedPages(seg.fd, offset: seg.uncachedBelow, length: pageEnd - seg.uncachedBelow)
                seg.uncachedBelow = pageEnd
            }
            segment = seg
            cursor = end
            if seg.offset >= prepareFrom { preparer?.request() }
        }
    }

    /// The page size (a power of two).
    private static let pageSize: Int = {
        let size = Int(sysconf(Int32(_SC_PAGESIZE)))
        precondition(size > 0 && size & (size - 1) == 0, "the page size is a power of two")
        return size
    }()

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// write + fdatasync linked in one io_uring chain; retries short writes.
    private func writeDurably(_ bytes: UnsafeRawBufferPointer, segment seg: OpenSegment) throws(WALError) {
        var done = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let at = UInt64(seg.offset + done)
            var ops: [IOUring.Op] = []
            if !rest.isEmpty { ops.append(.write(fd: seg.fd, buffer: rest, offset: at)) }
            ops.append(.fdatasync(fd: seg.fd))
            let results = try ring.runChain(ops)
            if !rest.isEmpty {
                let w = results[0]
                if w < 0 { throw WALError.fromWrite(errno: -w, file: seg.path, offset: at, "log write failed") }
                if w == 0 { throw WALError.fromWrite(errno: ENOSPC, file: seg.path, offset: at, "log write wrote nothing") }
                done += Int(w)
                if done < bytes.count { continue }  // short write: the linked fdatasync was cancelled
            }
            let s = results[results.count - 1]
            if s < 0 { throw WALError.fromWrite(errno: -s, file: seg.path, offset: at, "log fdatasync failed") }
            return
        }
    }

    /// Closes the full segment and opens the next one: the prepared file renamed in
    /// (`SegmentPreparer`), or else a file created, preallocated and synced here.
    func rollSegment(firstLSN: UInt64) throws(WALError) {
        if let old = segment {
            // Its records are durable already (each group is fdatasynced); this also covers
            // a tail inherited from before a restart that was never synced.
            try FileIO.fsync(old.fd, path: old.path)
            FileIO.close(old.fd)
            segment = nil
        }
        let name = SegmentName(firstLSN: firstLSN)
        let path = FileIO.join(config.directory, name.fileName)
        let fd: Int32
        var prepared = false
        if let preparer, let ready = preparer.take() {
            fd = try renamePrepared(ready, from: preparer.preparedPath, to: path)
            prepared = true
        } else {
            fd = try createSegment(path: path)
        }
        segment = OpenSegment(name: name, path: path, fd: fd, offset: 0)
        shared.state.withLock { s in
            s.stats.segmentsCreated += 1
            if prepared { s.stats.segmentsPrepared += 1 }
        }
        // Everything before the new segment is durable (groups are written in order and
        // waited for), so the directory must hold at least that from now on. Once per
        // segment, never per batch, and off this thread (`SegmentRecords`); a failed or
        // not yet written update only leaves the older promise.
        assert(durable == firstLSN - 1, "a segment starts right after the last durable record")
        segmentRecords.record(firstLSN: firstLSN)
    }

    /// Renames the prepared file (`ready`, open, written with zeros and synced) to `path`
    /// and syncs the directory: a kill -9 before the sync leaves either name, and a start
    /// reads either as no record (the temporary is removed, the segment is all zeros).
    private func renamePrepared(_ ready: Int32, from temporary: String, to path: String) throws(WALError) -> Int32 {
        do throws(WALError) {
            // As `O_EXCL` for a created file: never replace a segment.
            if FileIO.exists(path) { throw WALError(.system, "log segment exists already", errno: EEXIST, file: path) }
            try FileIO.rename(temporary, path)
            let results = try ring.runChain([.fsync(fd: directoryFD)])
            if let bad = results.first(where: { $0 < 0 }) {
                throw WALError.fromWrite(errno: -bad, file: path, offset: 0, "syncing the log directory failed")
            }
        } catch {
            FileIO.close(ready)
            try? FileIO.unlink(temporary)
            throw error
        }
        return ready
    }

    /// Creates, preallocates and syncs a new segment file at `path`.
    private func createSegment(path: String) throws(WALError) -> Int32 {
        let fd = try FileIO.open(path, O_RDWR | O_CREAT | O_EXCL)
        var ops: [IOUring.Op] = []
        if config.preallocation == .fallocate {
            ops.append(.fallocate(fd: fd, offset: 0, length: UInt64(config.segmentSize)))
        }
        ops.append(.fsync(fd: fd))
        ops.append(.fsync(fd: directoryFD))
        let results: [Int32]
        do throws(WALError) { results = try ring.runChain(ops) } catch {
            FileIO.close(fd)
            throw error
        }
        if let bad = results.first(where: { $0 < 0 }) {
            FileIO.close(fd)
            // An empty segment file is harmless for recovery; leave it.
            throw WALError.fromWrite(errno: -bad, file: path, offset: 0, "creating log segment failed")
        }
        return fd
    }
}
