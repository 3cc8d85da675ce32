import Synchronization

/// Someone waiting for an LSN to become durable: a suspended task, or a callback (the
/// server's event loops wait this way, with no task per request).
struct DurabilityWaiter: Sendable {
    /// How the waiter is told.
    enum Resumption: Sendable {
        case task(CheckedContinuation<Result<Void, WALError>, Never>)
        /// Called on the writer thread: it must be short (hand over to its own thread).
        case callback(@Sendable (Result<Void, WALError>) -> Void)
    }

    let lsn: UInt64
    /// The log's timeline the record was appended in (`WALWriter.timeline`); nil: any.
    /// A record of an ended timeline was cut unless it is at or below that timeline's end.
    let timeline: UInt64?
    let resumption: Resumption

    /// Tells the waiter how it ended.
    func resume(_ result: Result<Void, WALError>) {
        switch resumption {
        case .task(let continuation): continuation.resume(returning: result)
        case .callback(let callback): callback(result)
        }
    }
}

/// Everything the appenders and the writer thread share, guarded by one mutex.
struct WriterState: ~Copyable {
    /// Encoded records appended since the writer last took the buffer.
    var pending: [UInt8] = []
    var nextLSN: UInt64
    var durableLSN: UInt64
    /// The highest record timestamp up to `durableLSN` (0 until the first write after
    /// open: a conservative start). Batch timestamps rise with the LSN, so this is the
    /// timestamp of the record at `durableLSN`.
    var durableTimestamp: UInt64 = 0
    /// Set by the writer after a failed write; the log then refuses appends until the
    /// writer has cut the failed tail and a probe shows it can write again (`recovery`).
    var failure: WALError?
    /// Bumped at every failure: LSNs above the durable point of an ended timeline were
    /// cut and are handed out again, so a waiter names the timeline it appended in.
    var timeline: UInt64 = 0
    /// The durable LSN each ended timeline was cut back to (index: the timeline).
    var timelineEnds: [UInt64] = []
    /// Where the writer is in its way back from a failure (`.none` while writable).
    var recovery: WALRecoveryPhase = .none
    var closing = false
    /// True while the writer thread sleeps on the wakeup semaphore.
    var writerIdle = false
    var finished = false
    var waiters: [DurabilityWaiter] = []
    var closeWaiters: [CheckedContinuation<Void, Never>] = []
    var stats = WALStats()
}

/// The state shared between `WALWriter` (any thread or task) and its writer thread.
final class WriterShared: Sendable {
    let state: Mutex<WriterState>
    let wakeup = Wakeup()
    /// Told about each group commit (metrics); set once after open.
    let observer = Mutex<(any WALObserver)?>(nil)
    /// Takes each write's bytes before they go to the disk (replication); nil: none.
    let shipper = Mutex<(any WALShipper)?>(nil)
    /// Told when the log fails, has cut its failed tail, and can write again; nil: none.
    let healthListener = Mutex<(@Sendable (WALHealth) -> Void)?>(nil)
    /// Told each new durable LSN after the waiters (a follower's acks); nil: none.
    let durableListener = Mutex<(@Sendable (UInt64) -> Void)?>(nil)
    /// The data directory's lock: held until the writer thread has written its last byte
    /// (`finish`), whether the log was closed or its `WALWriter` was dropped.
    let directoryLock: Mutex<DataDirectoryLock?>

    init(nextLSN: UInt64, directoryLock: consuming DataDirectoryLock) {
        state = Mutex(WriterState(nextLSN: nextLSN, durableLSN: nextLSN - 1))
        self.directoryLock = Mutex(Optional(directoryLock))
    }

    /// True once the writer thread freed the directory.
    var directoryFreed: Bool {
        directoryLock.withLock { held in
            switch held {
            case .none: return true
            case .some: return false
            }
        }
    }

    /// Marks `durable` as durable (its records' highest timestamp `timestamp`) and resumes
    /// every waiter it satisfies.
    func publishDurable(_ durable: UInt64, timestamp: UInt64, records: Int, bytes: Int) {
        let ready: [DurabilityWaiter] = state.withLock { s in
            assert(durable >= s.durableLSN, "the durable LSN only rises")
            s.durableLSN = durable
            s.durableTimestamp = max(s.durableTimestamp, timestamp)
            s.stats.writes += 1
            s.stats.bytesWritten += UInt64(bytes)
            s.stats.largestGroup = max(s.stats.largestGroup, UInt64(records))
            guard !s.waiters.isEmpty else { return [] }
            var ready: [DurabilityWaiter] = []
            var keep: [DurabilityWaiter] = []
            keep.reserveCapacity(s.waiters.count)
            for w in s.waiters {
                if w.lsn <= durable { ready.append(w) } else { keep.append(w) }
            }
            s.waiters = keep
            return ready
        }
        for w in ready { w.resume(.success(())) }
        if let listener = durableListener.withLock({ $0 }) { listener(durable) }
    }

    /// Stops the log after a failed write: every record not yet durable gets `error`,
    /// and the LSNs above the durable point are handed out again once the log resumes
    /// (a new timeline). The health listener hears of a fresh failure before the log
    /// refuses its first append and before any waiter wakes, so whoever a refusal reaches
    /// can already see what the listener did (a replicated node has fenced itself).
    /// Only the writer thread calls this, so nothing else can set the failure between the
    /// check and the listener. A record appended while the listener runs is not durable:
    /// it fails with the others below.
    func fail(_ error: WALError) {
        let fresh = state.withLock { $0.failure == nil }
        if fresh, let listener = healthListener.withLock({ $0 }) { listener(.failed(error)) }
        let waiters: [DurabilityWaiter] = state.withLock { s in
            if fresh {
                assert(s.failure == nil, "only the writer thread fails the log")
                s.failure = error
                s.timelineEnds.append(s.durableLSN)
                s.timeline += 1
                s.nextLSN = s.durableLSN + 1
                s.recovery = .cutting
            }
            assert(s.timelineEnds.count == Int(s.timeline), "one end per ended timeline")
            s.pending.removeAll()
            let w = s.waiters
            s.waiters.removeAll()
            return w
        }
        for w in waiters { w.resume(.failure(error)) }
    }

    /// The answer for a waiter when it is already known (nil: it must wait). Call under
    /// the state's lock.
    static func settled(_ lsn: UInt64, timeline: UInt64?, in s: borrowing WriterState) -> Result<Void, WALError>? {
        if let timeline, timeline != s.timeline {
            assert(timeline < s.timeline, "a waiter's timeline was handed out by the log")
            let end = s.timelineEnds[Int(timeline)]
            if lsn <= end { return .success(()) }
            return .failure(WALError(
                .stopped, "the record was not written: the log failed and was cut back to LSN \(end)",
                errno: s.failure?.errno))
        }
        if s.durableLSN >= lsn { return .success(()) }
        if let failure = s.failure { return .failure(failure) }
        return nil
    }

    /// Called by the writer thread as it exits, after its last write: frees the directory,
    /// then tells the waiters.
    func finish() {
        directoryLock.withLock { $0 = nil }
        let (closers, waiters): ([CheckedContinuation<Void, Never>], [DurabilityWaiter]) = state.withLock { s in
            s.finished = true
            let c = s.closeWaiters
            let w = s.waiters
            s.closeWaiters.removeAll()
            s.waiters.removeAll()
            return (c, w)
        }
        let err = WALError(.closed, "log closed before the record became durable")
        for w in waiters { w.resume(.failure(err)) }
        for c in closers { c.resume() }
    }
}
