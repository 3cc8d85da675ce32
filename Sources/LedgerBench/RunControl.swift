import Synchronization

/// Shared by the controller and the workers of a run: how many workers should be
/// active now, whether to stop (and why, when the run was cut short), the transfer
/// budget of `--transfers`, and the count of consecutive failures that ends a run whose
/// server is gone.
package final class RunControl: Sendable {
    private let target = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let aborted = Atomic<Bool>(false)
    private let issued = Atomic<Int>(0)
    private let failuresInARow = Atomic<Int>(0)
    private let reason = Mutex<String?>(nil)
    /// Transfers the run may create in total (Int.max: no limit).
    package let transferLimit: Int
    /// The run stops after this many unexpected failures in a row (no success between):
    /// a dead server makes every request fail at once, and the run ends with a report
    /// instead of spinning.
    package let maxFailuresInARow: Int

    package init(transferLimit: Int?, maxFailuresInARow: Int = 100) {
        precondition(maxFailuresInARow > 0, "the failure limit is positive")
        self.transferLimit = transferLimit ?? Int.max
        self.maxFailuresInARow = maxFailuresInARow
    }

    /// Workers with a number below this send; the others wait.
    package var activeWorkers: Int { target.load(ordering: .relaxed) }
    package func setActiveWorkers(_ n: Int) { target.store(n, ordering: .relaxed) }

    package var isStopped: Bool { stopped.load(ordering: .relaxed) }
    /// Stops the run at its planned end (or a reached budget).
    package func stop() { stopped.store(true, ordering: .relaxed) }

    /// Stops the run before its end; the first reason given is kept and reported.
    package func abort(_ why: String) {
        reason.withLock { if $0 == nil { $0 = why } }
        aborted.store(true, ordering: .relaxed)
        stopped.store(true, ordering: .relaxed)
    }

    /// True once `abort` was called.
    package var isAborted: Bool { aborted.load(ordering: .relaxed) }

    /// Why the run was cut short; nil when it ran to its end.
    package var abortReason: String? { reason.withLock { $0 } }

    /// Notes a request that succeeded: the failures in a row start again from 0.
    @inline(__always)
    package func noteSuccess() {
        // Read first: the shared line is written only after failures.
        if failuresInARow.load(ordering: .relaxed) != 0 { failuresInARow.store(0, ordering: .relaxed) }
    }

    /// Notes an unexpected failure (`label`); aborts the run at the limit.
    package func noteFailure(_ label: String) {
        let n = failuresInARow.wrappingAdd(1, ordering: .relaxed).newValue
        if n == maxFailuresInARow {
            abort("\(n) requests in a row failed (the last: \(label)); is the server gone?")
        }
    }

    /// Reserves up to `wanted` transfers of the budget; returns how many were granted
    /// (0 once the budget is spent, which also stops the run).
    package func reserveTransfers(_ wanted: Int) -> Int {
        guard transferLimit != Int.max else { return wanted }
        let before = issued.wrappingAdd(wanted, ordering: .relaxed).oldValue
        if before >= transferLimit {
            stop()
            return 0
        }
        return min(wanted, transferLimit - before)
    }
}

/// What one worker saw, for the money check and the exit status.
package struct WorkerOutcome: Sendable {
    /// The worker's number.
    package var worker: Int
    /// Amount moved to posted balances by the worker's created transfers.
    package var posted: Int64 = 0
    /// Amount left pending by the worker's created transfers (pending minus resolved).
    package var pending: Int64 = 0
    /// Accounts the worker registered (ids `RunIdentity.registeredAccountId(worker:, sequence: 0..<n)`).
    package var registered: UInt64 = 0
    /// Of those, the ones answered `created`.
    package var registeredCreated = 0
    /// Failures and results that were not expected.
    package var unexpected = 0
    /// True when a request failed after it may have been applied (timeout, lost
    /// connection): the exact totals are then unknown.
    package var outcomeUnknown = false

    package init(worker: Int) {
        self.worker = worker
    }
}
