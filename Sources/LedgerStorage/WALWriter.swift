#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The appending side of the write-ahead log.
///
/// `append` assigns the next LSN and queues the record without blocking (a
/// mutex held for a memcpy); one dedicated writer thread writes everything
/// queued since its previous write in a single io_uring write+fdatasync (group
/// commit). `waitDurable` suspends until the LSN is on stable storage.
package final class WALWriter: Sendable {
    private let shared: WriterShared
    /// The configuration the log was opened with.
    package let configuration: WALConfiguration
    /// The directory's control file (`ControlFile`): what it must hold from now on.
    package let control: ControlFileKeeper
    /// What the start found and did: the snapshot to start from, a cut tail, skipped
    /// snapshots, removed temporaries, and (only with `allowDamaged`) overridden refusals.
    package let startup: DirectoryCheck.Verdict

    private init(shared: WriterShared, configuration: WALConfiguration,
                 control: ControlFileKeeper, startup: DirectoryCheck.Verdict) {
        self.shared = shared
        self.configuration = configuration
        self.control = control
        self.startup = startup
    }

    deinit {
        let wake = shared.state.withLock { s -> Bool in
            s.closing = true
            defer { s.writerIdle = false }
            return s.writerIdle
        }
        if wake { shared.wakeup.post() }
    }

    /// Takes the directory's lock (`DataDirectoryLock`; refused with `.locked` while
    /// another writer holds it), checks that the directory holds everything its control
    /// file promises (`DirectoryCheck`; refused with `.missingRecords`, `.damaged` or
    /// `.corrupt` unless `allowDamaged`), cuts a torn tail, removes stale temporaries,
    /// writes the control file, then starts the writer thread. Blocking: call it
    /// from a thread that may block, or through `openAsync`.
    package static func open(_ configuration: WALConfiguration) throws(WALError) -> (WALWriter, RecoveryReport) {
        guard configuration.segmentSize >= 4096, configuration.segmentSize % RecordHeader.alignment == 0 else {
            throw WALError(.invalidArgument, "segment size must be a multiple of 8 and at least 4096")
        }
        try FileIO.makeDirectory(configuration.directory)
        // Before anything in the directory is read or written.
        let lock = try DataDirectoryLock.acquire(directory: configuration.directory)
        let inventory = try DirectoryCheck.Inventory.read(directory: configuration.directory, allSnapshots: false)
        let verdict = DirectoryCheck.evaluate(inventory)
        if !verdict.unrecoverable.isEmpty {
            throw WALError(.missingRecords, "refusing to start: the data directory holds less than it must, "
                + "and no state can be rebuilt from it: " + verdict.unrecoverable.joined(separator: "; ")
                + " (nothing was changed; --accept-data-loss cannot help here: restore the missing files)",
                file: configuration.directory)
        }
        if !verdict.refusals.isEmpty && !configuration.allowDamaged {
            let code: WALError.Code = inventory.log.damage != nil ? .damaged
                : inventory.controlProblem != nil ? .corrupt : .missingRecords
            throw WALError(code, "refusing to start: the data directory holds less than it must: "
                + verdict.refusals.joined(separator: "; ")
                + " (nothing was changed; `kamino wal verify` shows the same, and an operator can override with --accept-data-loss)",
                file: configuration.directory)
        }
        var report = inventory.log
        try WALRecovery.repair(&report, directory: configuration.directory,
                               preallocation: configuration.preallocation, segmentSize: configuration.segmentSize)
        if !verdict.staleTemporaries.isEmpty {
            for name in verdict.staleTemporaries { try FileIO.unlink(FileIO.join(configuration.directory, name)) }
            try FileIO.fsyncDirectory(configuration.directory)
        }
        var segment: OpenSegment?
        let nextLSN: UInt64
        if let last = report.segments.last {
            let path = FileIO.join(configuration.directory, last.name.fileName)
            let fd = try FileIO.open(path, O_RDWR)
            // A tail written before a kill -9 may still be only in the page cache: make it
            // durable before the control file promises it or later records build on it.
            do throws(WALError) {
                try FileIO.fsync(fd, path: path)
                try FileIO.fsyncDirectory(configuration.directory)
            } catch {
                FileIO.close(fd)
                throw error
            }
            segment = OpenSegment(name: last.name, path: path, fd: fd, offset: last.endOffset)
            nextLSN = report.lastLSN + 1
        } else {
            nextLSN = (verdict.snapshot?.lsn ?? 0) + 1
        }
        // The promises from now on: what this start rebuilds (with an override, less than before).
        let control = ControlFile(snapshotLSN: verdict.snapshot?.lsn ?? 0, durableLSN: nextLSN - 1,
                                  lastSegmentLSN: report.segments.last?.name.firstLSN ?? 0)
        if control != inventory.control {
            do throws(WALError) { try control.write(directory: configuration.directory) } catch {
                if let segment { FileIO.close(segment.fd) }
                throw error
            }
        }
        let keeper = ControlFileKeeper(directory: configuration.directory, initial: control)
        // From here the lock belongs to the writer thread's shared state: it is freed when
        // the thread has finished, or with the shared state if the thread never starts.
        let shared = WriterShared(nextLSN: nextLSN, directoryLock: lock)
        let thread: WriterThread
        do throws(WALError) {
            thread = try WriterThread(shared: shared, config: configuration, segment: segment, durable: nextLSN - 1,
                                      control: keeper)
        } catch {
            if let segment { FileIO.close(segment.fd) }
            throw error
        }
        try thread.start()
        return (WALWriter(shared: shared, configuration: configuration, control: keeper, startup: verdict), report)
    }

    /// `open` run on a dedicated thread, for callers on Swift's cooperative pool.
    package static func openAsync(_ configuration: WALConfiguration) async throws(WALError) -> (WALWriter, RecoveryReport) {
        try await DedicatedThread.run { () throws(WALError) in
            let (writer, report) = try WALWriter.open(configuration)
            return OpenResult(writer: writer, report: report)
        }.pair
    }

    /// Assigns the next LSN to a record and queues it for the next group
    /// commit. Returns at once; the record is durable once `waitDurable(lsn)`
    /// returns. Throws `.stopped` after a failed write (until the log resumes), `.closed`
    /// after close.
    package func append(operation: UInt8, timestamp: UInt64, eventCount: UInt32,
                        body: UnsafeRawBufferPointer, epoch: UInt64 = 0) throws(WALError) -> UInt64 {
        try appendTracked(operation: operation, timestamp: timestamp, eventCount: eventCount, body: body, epoch: epoch).lsn
    }

    /// `append`, with the timeline the LSN belongs to: pass it to `waitDurable` or
    /// `whenDurable` so that a record cut by a failure is never reported durable because
    /// a later record took its LSN after the log resumed.
    /// - Parameter bodyChecksum: `RecordHeader.bodyChecksum(body)` when the caller has it
    ///   already (computed outside its own locks, or verified on a shipped record's
    ///   receive path); nil: computed here.
    package func appendTracked(operation: UInt8, timestamp: UInt64, eventCount: UInt32,
                               body: UnsafeRawBufferPointer, bodyChecksum: UInt32? = nil,
                               epoch: UInt64 = 0) throws(WALError)
        -> (lsn: UInt64, timeline: UInt64)
    {
        guard body.count <= configuration.maxBodyLength else {
            throw WALError(.recordTooLarge, "body of \(body.count) bytes exceeds \(configuration.maxBodyLength)")
        }
        let bodyCRC = bodyChecksum ?? RecordHeader.bodyChecksum(body)
        assert(bodyCRC == RecordHeader.bodyChecksum(body), "the caller's checksum is the body's")
        let pad = RecordHeader.paddedLength(body.count) - body.count
        let (lsn, timeline, wake) = try shared.state.withLock { s throws(WALError) -> (UInt64, UInt64, Bool) in
            if let failure = s.failure {
                throw WALError(.stopped, "log stopped after an earlier failure: \(failure.code.rawValue)",
                               errno: failure.errno, file: failure.file, offset: failure.offset)
            }
            if s.closing { throw WALError(.closed, "log is closed") }
            let lsn = s.nextLSN
            s.nextLSN += 1
            s.stats.appends += 1
            let header = RecordHeader(operation: operation, lsn: lsn, timestamp: timestamp, durableWatermark: 0,
                                      eventCount: eventCount, bodyLength: UInt32(body.count), bodyChecksum: bodyCRC,
                                      epoch: epoch)
            withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { h in
                if let base = h.baseAddress { header.encode(to: base) }
                s.pending.append(contentsOf: UnsafeRawBufferPointer(h))
            }
            s.pending.append(contentsOf: body)
            if pad > 0 { s.pending.append(contentsOf: repeatElement(0, count: pad)) }
            let wake = s.writerIdle
            s.writerIdle = false
            return (lsn, s.timeline, wake)
        }
        if wake { shared.wakeup.post() }
        return (lsn, timeline)
    }

    /// `append` for a byte array.
    package func append(operation: UInt8, timestamp: UInt64, eventCount: UInt32, body: [UInt8],
                        epoch: UInt64 = 0) throws(WALError) -> UInt64 {
        try body.withBytes { b throws(WALError) in
            try append(operation: operation, timestamp: timestamp, eventCount: eventCount, body: b, epoch: epoch)
        }
    }

    /// Suspends until every record up to `lsn` is on stable storage. Throws
    /// the write error (`.noSpace`, `.io`) if the log failed first, `.stopped` when
    /// `timeline` ended with the record cut, or `.closed`. Never reports success for a
    /// record that is not durable.
    package func waitDurable(_ lsn: UInt64, timeline: UInt64? = nil) async throws(WALError) {
        if case .success = shared.state.withLock({ WriterShared.settled(lsn, timeline: timeline, in: $0) }) { return }
        let result: Result<Void, WALError> = await withCheckedContinuation { continuation in
            let waiter = DurabilityWaiter(lsn: lsn, timeline: timeline, resumption: .task(continuation))
            if let immediate = enqueue(waiter) { waiter.resume(immediate) }
        }
        try result.get()
    }

    /// `waitDurable` without a task: `done` is called once `lsn` is durable (or the log
    /// failed or closed first). It runs on the caller's thread when the answer is already
    /// known, otherwise on the log's writer thread: it must only hand over (to an event
    /// loop, say), never block or do long work there.
    package func whenDurable(_ lsn: UInt64, timeline: UInt64? = nil,
                             _ done: @escaping @Sendable (Result<Void, WALError>) -> Void) {
        let waiter = DurabilityWaiter(lsn: lsn, timeline: timeline, resumption: .callback(done))
        if let immediate = enqueue(waiter) { waiter.resume(immediate) }
    }

    /// Registers `waiter` unless its answer is already known (then returns that answer).
    private func enqueue(_ waiter: DurabilityWaiter) -> Result<Void, WALError>? {
        let lsn = waiter.lsn
        return shared.state.withLock { s in
            if let known = WriterShared.settled(lsn, timeline: waiter.timeline, in: s) { return known }
            if lsn >= s.nextLSN { return .failure(WALError(.invalidArgument, "LSN \(lsn) was never appended")) }
            if s.finished { return .failure(WALError(.closed, "log is closed")) }
            s.waiters.append(waiter)
            return nil
        }
    }

    /// Appends and waits until the record is durable; returns its LSN.
    package func appendDurably(operation: UInt8, timestamp: UInt64, eventCount: UInt32, body: [UInt8]) async throws(WALError) -> UInt64 {
        let lsn = try append(operation: operation, timestamp: timestamp, eventCount: eventCount, body: body)
        try await waitDurable(lsn)
        return lsn
    }

    /// Highest LSN known to be durable.
    package var durableLSN: UInt64 { shared.state.withLock { $0.durableLSN } }

    /// The highest durable LSN and the highest record timestamp up to it, read together
    /// (the timestamp is 0 until the first write after open). Every batch logged with a
    /// timestamp at or below `timestamp` is durable: batch timestamps rise with the LSN.
    package var durablePoint: (lsn: UInt64, timestamp: UInt64) {
        shared.state.withLock { ($0.durableLSN, $0.durableTimestamp) }
    }
    /// `durablePoint` with the timeline it belongs to, read together.
    /// `failed`: the log failed and has not resumed yet.
    package var durableState: (lsn: UInt64, timestamp: UInt64, timeline: UInt64, failed: Bool) {
        shared.state.withLock { ($0.durableLSN, $0.durableTimestamp, $0.timeline, $0.failure != nil) }
    }
    /// The log's timeline: bumped by every failure (`appendTracked`).
    package var timeline: UInt64 { shared.state.withLock { $0.timeline } }
    /// Highest LSN handed out by `append`.
    package var lastAssignedLSN: UInt64 { shared.state.withLock { $0.nextLSN - 1 } }
    /// The failure that stopped the log, if any.
    package var failure: WALError? { shared.state.withLock { $0.failure } }
    /// Counters (appends, writes, bytes, ...).
    package var stats: WALStats { shared.state.withLock { $0.stats } }

    /// Tells `listener` when the log fails, has cut its failed tail, and writes again
    /// (`WALHealth`; on the writer thread: keep it short); nil stops. Without a listener
    /// that calls `permitResume`, a failed log stays failed until it is closed.
    package func onHealth(_ listener: (@Sendable (WALHealth) -> Void)?) {
        shared.healthListener.withLock { $0 = listener }
    }

    /// Lets a failed log whose tail is cut (`WALHealth.cut`) probe and resume: its owner
    /// has rolled back every effect of the records above the durable point. Ignored
    /// unless the log is waiting for it.
    package func permitResume() {
        let permitted = shared.state.withLock { s -> Bool in
            guard s.recovery == .cut else { return false }
            s.recovery = .probing
            return true
        }
        if permitted { shared.wakeup.post() }
    }

    /// Tells `observer` about every group commit from now on (metrics).
    package func observe(_ observer: any WALObserver) {
        shared.observer.withLock { $0 = observer }
    }

    /// Calls `listener` with each new durable LSN from now on (on the writer thread: keep
    /// it short); nil stops.
    package func onDurable(_ listener: (@Sendable (UInt64) -> Void)?) {
        shared.durableListener.withLock { $0 = listener }
    }

    /// Hands every write's records to `shipper` from now on, before they go to the disk
    /// (replication); nil stops. Records already written are read back from the segments.
    package func ship(to shipper: (any WALShipper)?) {
        shared.shipper.withLock { $0 = shipper }
    }

    /// Refuses further appends, writes everything already appended, stops the
    /// writer thread and closes the files.
    package func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (done, wake) = shared.state.withLock { s -> (Bool, Bool) in
                if s.finished { return (true, false) }
                s.closing = true
                s.closeWaiters.append(continuation)
                let wake = s.writerIdle
                s.writerIdle = false
                return (false, wake)
            }
            if wake { shared.wakeup.post() }
            if done { continuation.resume() }
        }
        // The writer thread has finished: it recorded the durable LSN in the control file
        // and freed the directory.
        assert(shared.directoryFreed, "the lock is freed after the last write")
    }
}

/// Result of `WALWriter.openAsync`, carried across threads.
struct OpenResult: Sendable {
    let writer: WALWriter
    let report: RecoveryReport
    var pair: (WALWriter, RecoveryReport) { (writer, report) }
}
