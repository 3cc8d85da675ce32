package import LedgerStorage
import ServiceLifecycle
import Synchronization

/// Expires pending transfers on an idle ledger: logs a `pulse` when the earliest pending
/// deadline comes due (TigerBeetle's pulse). Without it a due transfer stays pending
/// until the next write, whose batch expires it.
///
/// One dedicated thread sleeps on the ledger's `ExpiryWatch` until the deadline (on the
/// ledger's `BatchClock`), for at most `recheck` at a time (a clock that jumps, a node
/// that becomes primary), or until a batch publishes an earlier deadline. Only a primary
/// whose ledger accepts writes pulses, and only through `DurableLedger.pulseIfDue`, which
/// checks under the log's lock that something is due, so every replica expires what the
/// primary's logged pulse expires and an empty pulse is never logged. At most one pulse
/// is in flight: the thread waits for it to settle. Nothing runs per request.
package final class PulseScheduler: Sendable {
    /// What one pulse attempt did, for logs and tests.
    package enum Outcome: Sendable {
        /// A pulse was logged and settled.
        case pulsed
        /// Nothing was due by the pulse's timestamp after all (a batch expired it first):
        /// the scheduler looks again after `recheck`, or sooner if an earlier deadline comes.
        case notDue
        /// The write failed (the node stopped being primary, the log failed, ...): the
        /// scheduler tries again after `recheck` if the node is still a primary then.
        case failed(EngineError)
    }

    private let ledger: DurableLedger
    private let watch: ExpiryWatch
    private let clock: any BatchClock
    /// The longest single sleep, in seconds.
    private let recheck: Double
    private let onOutcome: @Sendable (Outcome) -> Void
    private let stopping = Atomic<Bool>(false)
    /// Set when the thread has ended; `stop` callers wait for it.
    private let ended = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// Pulses logged so far.
    private let pulses = Atomic<Int>(0)

    private init(ledger: DurableLedger, recheck: Duration, onOutcome: @escaping @Sendable (Outcome) -> Void) {
        self.ledger = ledger
        watch = ledger.expiries
        clock = ledger.batchClock
        let parts = recheck.components
        self.recheck = Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
        self.onOutcome = onOutcome
    }

    /// Starts pulsing `ledger` (one scheduler per ledger) until `stop`.
    /// - Parameters:
    ///   - recheck: the longest sleep: how late a due pulse may be after the clock jumped
    ///     forward or the node became primary.
    ///   - onOutcome: told what each pulse attempt did (on the scheduler's thread).
    /// - Throws: `WALError` when the thread could not start.
    package static func start(
        _ ledger: DurableLedger, recheck: Duration = .seconds(1),
        onOutcome: @escaping @Sendable (Outcome) -> Void = { _ in }
    ) throws(WALError) -> PulseScheduler {
        precondition(recheck > .zero, "the recheck interval must be positive")
        precondition(ledger.expiries.claimWaiter(), "one pulse scheduler per ledger")
        let scheduler = PulseScheduler(ledger: ledger, recheck: recheck, onOutcome: onOutcome)
        try DedicatedThread.start {
            DedicatedThread.name("kamino-pulse")
            scheduler.loop()
        }
        return scheduler
    }

    /// How many pulses this scheduler logged.
    package var pulsesLogged: Int { pulses.load(ordering: .relaxed) }

    /// Stops the thread and waits until it ended (a pulse in flight settles first). The
    /// ledger can close afterwards.
    package func stop() async {
        stopping.store(true, ordering: .sequentiallyConsistent)
        watch.wakeup.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = ended.withLock { e in
                if !e.done { e.waiters.append(continuation) }
                return e.done
            }
            if done { continuation.resume() }
        }
    }

    /// The scheduler's thread: sleep until due, pulse if primary, repeat until stopped.
    private func loop() {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            guard let deadline = watch.arm() else {
                // Nothing pending has a timeout: a batch that adds one wakes us.
                watch.wakeup.wait(seconds: nil)
                continue
            }
            let now = clock.nanosecondsSinceEpoch()
            if deadline > now {
                watch.wakeup.wait(seconds: min(Double(deadline - now) * 1e-9, recheck))
                continue
            }
            // Due. A follower (or a fenced node) waits for its primary's pulse; it starts
            // pulsing within `recheck` of becoming the primary.
            guard ledger.role == .primary, ledger.acceptsWrites else {
                watch.wakeup.wait(seconds: recheck)
                continue
            }
            let outcome = pulseOnce()
            onOutcome(outcome)
            // A pulse is logged only when the earliest pending deadline is due by its
            // timestamp, and it has applied (expiring all that was due by then), so each
            // logged pulse covers a transfer no earlier pulse did: looking again at once
            // cannot spin. Anything else waits before trying again (a failing log, nothing
            // due any more).
            if case .pulsed = outcome { continue }
            watch.wakeup.wait(seconds: recheck)
        }
        let waiters = ended.withLock { e in
            e.done = true
            defer { e.waiters.removeAll() }
            return e.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Logs one pulse (if still due) and blocks this thread until it settled.
    private func pulseOnce() -> Outcome {
        let settlement = Settlement()
        let ledger = self.ledger
        Task {
            let outcome: Outcome
            do throws(EngineError) {
                outcome = try await ledger.pulseIfDue() ? .pulsed : .notDue
            } catch {
                outcome = .failed(error)
            }
            settlement.finish(outcome)
        }
        let outcome = settlement.wait()
        if case .pulsed = outcome { pulses.add(1, ordering: .relaxed) }
        return outcome
    }
}

/// One pulse's outcome, handed from its task to the waiting scheduler thread.
private final class Settlement: Sendable {
    private let outcome = Mutex<PulseScheduler.Outcome?>(nil)
    private let wakeup = TimedWakeup()

    /// Stores the outcome and wakes the waiter (once).
    func finish(_ value: PulseScheduler.Outcome) {
        outcome.withLock { o in
            precondition(o == nil, "a pulse settles once")
            o = value
        }
        wakeup.signal()
    }

    /// Blocks the calling (dedicated) thread until `finish`.
    func wait() -> PulseScheduler.Outcome {
        while true {
            if let value = outcome.withLock({ $0 }) { return value }
            wakeup.wait(seconds: nil)
        }
    }
}

/// The scheduler as a service of a `ServiceGroup`: list it after the ledger (the group
/// stops services in reverse order, so it stops before the ledger closes).
extension PulseScheduler: Service {
    package func run() async {
        // Throws only when the task is cancelled: stop then too.
        try? await gracefulShutdown()
        await stop()
    }
}
