#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The writer thread's way back from a failed write (disk full, EFBIG, EIO): cut what
/// was written after the durable point, wait until the log's owner has rolled its state
/// back (`WALWriter.permitResume`), then probe with backoff until the disk takes writes
/// again. Runs only on the writer thread, after `WriterShared.fail`; costs nothing on
/// the path of a successful write.
extension WriterThread {
    /// Longest pause between two attempts (cut or probe): the delay before writes resume
    /// once space is back.
    static let longestPause = 1.0

    /// Returns once the log accepts appends again, or when it is closing.
    func recoverFromFailure() {
        var delay = 0.01
        while true {
            do throws(WALError) {
                try cutTail()
                break
            } catch {
                if !pause(&delay) { return }
            }
        }
        let (cutTo, timeline) = shared.state.withLock { s -> (UInt64, UInt64) in
            assert(s.failure != nil && s.recovery == .cutting, "a cut follows a failure")
            assert(s.durableLSN == durable && s.nextLSN == durable + 1, "the log restarts after the durable point")
            s.recovery = .cut
            return (s.durableLSN, s.timeline)
        }
        if let listener = shared.healthListener.withLock({ $0 }) { listener(.cut(durableLSN: cutTo, timeline: timeline)) }
        delay = 0.01
        while shared.state.withLock({ $0.recovery }) != .probing {
            if !pause(&delay) { return }
        }
        delay = 0.01
        while true {
            do throws(WALError) {
                try probe()
                break
            } catch {
                if !pause(&delay) { return }
            }
        }
        shared.state.withLock { s in
            assert(s.pending.isEmpty, "nothing is appended while the log is failed")
            s.failure = nil
            s.recovery = .none
        }
        if let listener = shared.healthListener.withLock({ $0 }) { listener(.resumed(durableLSN: durable)) }
    }

    /// Sleeps `delay` seconds (woken early by `close` or `permitResume`) and doubles it up
    /// to `longestPause`; false when the log is closing.
    private func pause(_ delay: inout Double) -> Bool {
        let closing = shared.state.withLock { s -> Bool in
            if !s.closing { s.writerIdle = true }
            return s.closing
        }
        if closing { return false }
        shared.wakeup.wait(seconds: delay)
        delay = min(delay * 2, Self.longestPause)
        return shared.state.withLock { s -> Bool in
            s.writerIdle = false
            return !s.closing
        }
    }

    /// Removes every byte written after the durable point: a short or failed write may
    /// have left part of a group (even whole records of LSNs that will be handed out
    /// again) after it, and a failed roll may have left the next segment's file.
    private func cutTail() throws(WALError) {
        if let seg = segment {
            try FileIO.truncate(seg.fd, to: seg.offset, path: seg.path)
            try FileIO.fsync(seg.fd, path: seg.path)
            return
        }
        try removeFailedSegment()
    }

    /// Removes the file a failed roll left for the next segment (it holds no record), so
    /// that the next roll can create it.
    private func removeFailedSegment() throws(WALError) {
        let path = FileIO.join(config.directory, SegmentName(firstLSN: durable + 1).fileName)
        if FileIO.exists(path) {
            try FileIO.unlink(path)
            try FileIO.fsyncDirectory(config.directory)
        }
    }

    /// Succeeds once the disk takes the next write: the next segment can be created (and
    /// preallocated), or the open one gets its space back (`fallocate`) or takes a write
    /// of zeros (no preallocation; cut again afterwards).
    private func probe() throws(WALError) {
        guard let seg = segment, seg.offset + RecordHeader.size < config.segmentSize else {
            if segment == nil { try removeFailedSegment() }
            try rollSegment(firstLSN: durable + 1)
            return
        }
        let room = config.segmentSize - seg.offset
        switch config.preallocation {
        case .fallocate:
            let results = try ring.runChain([
                .fallocate(fd: seg.fd, offset: UInt64(seg.offset), length: UInt64(room)), .fdatasync(fd: seg.fd),
            ])
            if let bad = results.first(where: { $0 < 0 }) {
                throw WALError.fromWrite(errno: -bad, file: seg.path, offset: UInt64(seg.offset), "probe fallocate failed")
            }
        case .none:
            let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: min(room, 64 << 10), alignment: 8)
            zeros.initializeMemory(as: UInt8.self, repeating: 0)
            defer {
                zeros.deallocate()
                try? FileIO.truncate(seg.fd, to: seg.offset, path: seg.path)
            }
            let results = try ring.runChain([
                .write(fd: seg.fd, buffer: UnsafeRawBufferPointer(zeros), offset: UInt64(seg.offset)), .fdatasync(fd: seg.fd),
            ])
            if results[0] != zeros.count || results[1] < 0 {
                let e = results[0] < 0 ? -results[0] : results[1] < 0 ? -results[1] : ENOSPC
                throw WALError.fromWrite(errno: e, file: seg.path, offset: UInt64(seg.offset), "probe write failed")
            }
        }
    }
}
