#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerStorage
import Synchronization

/// A follower's applier: applies shipped batches to a layout that applies in place (the
/// serial one), one at a time in LSN order, on a thread of its own.
///
/// The follower's receive path logs a shipped record under the durable ledger's lock and
/// hands the batch here instead of applying it there, so it can read and log the next
/// record (and the log writer can make it durable, which is what the primary's sync
/// answer waits for) while this thread applies. The thread runs at a lower priority
/// (`niceness`) so that, on a busy core, the log writer and the receive path go first;
/// what it wakes (waiting tasks) and starts (snapshot writes) goes through a
/// `NormalPriorityRunner`, so that no thread libdispatch starts for it inherits that
/// priority (seen before: pool threads of a follower at nice 5).
/// A snapshot due at an LSN is captured here, right after that batch applied. After a
/// batch fails to apply, no later one is applied (each one's turn fails with that error):
/// the durable ledger latches it when the batch settles.
final class ShippedApplier: Sendable {
    /// How much lower than the rest of the process the applier thread runs (setpriority).
    static let niceness: Int32 = 5

    private struct Entry {
        let batch: LoggedBatch
        let ticket: ApplyTicket
    }

    private struct State {
        /// Batches logged and not applied yet, in LSN order, from `head` on.
        var queue: [Entry] = []
        var head = 0
        /// The timestamp of the last batch handed over (what the next one must follow).
        var lastTimestamp: UInt64 = 0
        /// The LSN of the last batch applied.
        var applied: UInt64
        /// The first failure to apply; nothing is applied after it.
        var failure: LedgerError?
        var stopping = false
        var exited = false
        /// Waiting until fewer than `limit` batches are queued.
        var roomWaiters: [(limit: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Waiting until nothing is queued (or the thread exited).
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        var pending: Int { queue.count - head }
    }

    private let sequencer: any Sequencer
    private let snapshots: SnapshotScheduler?
    private let state: Mutex<State>
    private let wakeup = TimedWakeup()
    /// Wakes the tasks waiting for this thread and starts snapshot writes, at normal
    /// priority (a thread started from this one would inherit its nice value).
    private let runner: NormalPriorityRunner
    /// The LSN of the last batch applied, readable without the lock.
    private let appliedLSN: Atomic<UInt64>

    /// Starts the thread; the layout's state covers exactly `lsn`. `snapshots`: take the
    /// snapshots it claims (nil: none).
    init(sequencer: any Sequencer, lsn: UInt64, snapshots: SnapshotScheduler?) throws(WALError) {
        precondition(sequencer.appliesInPlace, "the applier drives only layouts that apply in place")
        self.sequencer = sequencer
        self.snapshots = snapshots
        state = Mutex(State(applied: lsn))
        appliedLSN = Atomic(lsn)
        runner = try NormalPriorityRunner()
        try DedicatedThread.start { [self] in
            // Best effort: at the default priority the applier only competes harder. On
            // Linux the nice value is per thread, and `who` 0 is the calling thread.
            DedicatedThread.name("kamino-applier")
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
            run()
        }
    }

    /// The last LSN applied.
    var applied: UInt64 { appliedLSN.load(ordering: .acquiring) }

    /// The timestamp of the last batch handed over while any is still queued; nil when
    /// none is (the layout's own state is then current).
    var pendingTimestamp: UInt64? {
        state.withLock { $0.pending > 0 ? $0.lastTimestamp : nil }
    }

    /// The first failure to apply, if any.
    var failure: LedgerError? { state.withLock { $0.failure } }

    /// True when no batch waits to be applied.
    var isIdle: Bool { state.withLock { $0.pending == 0 } }

    /// Queues `batch`, whose LSN follows the last one handed over; its turn runs on the
    /// applier thread. Called under the durable ledger's lock, in LSN order.
    func submit(_ batch: LoggedBatch) -> Applying {
        let ticket = ApplyTicket()
        state.withLock { s in
            precondition(!s.stopping, "a batch handed to a stopped applier")
            let last = s.pending > 0 ? s.queue[s.queue.count - 1].batch.lsn : s.applied
            precondition(batch.lsn == last + 1 || s.failure != nil,
                         "LSN \(batch.lsn) handed to the applier after \(last)")
            s.queue.append(Entry(batch: batch, ticket: ticket))
            s.lastTimestamp = batch.timestamp
        }
        wakeup.signal()
        return .queued { () async throws(LedgerError) -> BatchResults in try await ticket.results() }
    }

    /// Returns once fewer than `limit` batches wait to be applied (a bound on how far the
    /// receive path runs ahead of the apply, and on the memory the queue holds).
    func waitForRoom(limit: Int) async {
        precondition(limit >= 1, "room for at least one batch")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s in
                if s.pending < limit || s.exited { return true }
                s.roomWaiters.append((limit, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Returns once every batch handed over has applied (or failed).
    func waitIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s in
                if s.pending == 0 || s.exited { return true }
                s.idleWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Blocks the caller until nothing is queued (for a promotion, under the durable
    /// ledger's lock, which this thread never takes; the queue holds a few batches).
    func waitIdleBlocking() {
        while !isIdle { usleep(200) }
    }

    /// Applies what is queued, then ends the thread; returns once it has ended.
    func stop() async {
        state.withLock { $0.stopping = true }
        wakeup.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s in
                if s.exited { return true }
                s.idleWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        assert(state.withLock { $0.exited }, "the applier thread ended before stop returned")
    }

    /// What the thread does next.
    private enum Step {
        case apply(Entry, skipWith: LedgerError?)
        case sleep
        case exit([CheckedContinuation<Void, Never>])
    }

    /// The thread: applies queued batches in order, sleeps when there are none.
    private func run() {
        while true {
            let step = state.withLock { (s) -> Step in
                if s.pending > 0 { return .apply(s.queue[s.head], skipWith: s.failure) }
                if s.stopping {
                    s.exited = true
                    let waiting = s.idleWaiters + s.roomWaiters.map(\.continuation)
                    s.idleWaiters = []
                    s.roomWaiters = []
                    return .exit(waiting)
                }
                return .sleep
            }
            switch step {
            case .sleep:
                wakeup.wait(seconds: nil)
            case .exit(let waiting):
                runner.post { for w in waiting { w.resume() } }
                runner.stop()
                return
            case .apply(let entry, let earlier):
                let result = earlier.map { Result<BatchResults, LedgerError>.failure($0) } ?? apply(entry.batch)
                let woken = state.withLock { (s) -> [CheckedContinuation<Void, Never>] in
                    s.head += 1
                    if s.head == s.queue.count || s.head >= 64 {
                        s.queue.removeFirst(s.head)
                        s.head = 0
                    }
                    switch result {
                    case .success:
                        s.applied = entry.batch.lsn
                        appliedLSN.store(entry.batch.lsn, ordering: .releasing)
                    case .failure(let error):
                        if s.failure == nil { s.failure = error }
                    }
                    var woken: [CheckedContinuation<Void, Never>] = []
                    let pending = s.pending
                    s.roomWaiters.removeAll { w in
                        guard pending < w.limit else { return false }
                        woken.append(w.continuation)
                        return true
                    }
                    if pending == 0 {
                        woken += s.idleWaiters
                        s.idleWaiters = []
                    }
                    return woken
                }
                let ticket = entry.ticket
                runner.post {
                    ticket.fulfil(result)
                    for w in woken { w.resume() }
                }
            }
        }
    }

    /// Applies one batch and takes the snapshot due right after it.
    private func apply(_ batch: LoggedBatch) -> Result<BatchResults, LedgerError> {
        guard case .applied(let result) = sequencer.apply(batch) else {
            preconditionFailure("a layout that applies in place queued LSN \(batch.lsn)")
        }
        if case .success = result, let snapshots, snapshots.claim(lsn: batch.lsn) {
            // Captured here, right after the batch; the write starts a task: from the runner.
            let capture = sequencer.snapshot()
            let lsn = batch.lsn
            runner.post { snapshots.write(capture, lsn: lsn) }
        }
        return result
    }
}

/// The results of one batch handed to the applier, once its turn has run; any number of
/// tasks may wait for them.
private final class ApplyTicket: Sendable {
    private struct State {
        var result: Result<BatchResults, LedgerError>?
        var waiters: [CheckedContinuation<Result<BatchResults, LedgerError>, Never>] = []
    }

    private let state = Mutex(State())

    /// Sets the results (once) and wakes every waiter.
    func fulfil(_ result: Result<BatchResults, LedgerError>) {
        let waiters = state.withLock { s in
            precondition(s.result.map { _ in false } ?? true, "a batch's turn ran twice")
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: result) }
    }

    func results() async throws(LedgerError) -> BatchResults {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<BatchResults, LedgerError>, Never>) in
            let ready = state.withLock { (s) -> Result<BatchResults, LedgerError>? in
                if let r = s.result { return r }
                s.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }
}
