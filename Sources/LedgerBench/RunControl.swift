import Synchronization

/// Shared by the controller and the workers of a run: how many workers should be
/// active now, whether to stop, and the transfer budget of `--transfers`.
package final class RunControl: Sendable {
    private let target = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let issued = Atomic<Int>(0)
    /// Transfers the run may create in total (Int.max: no limit).
    package let transferLimit: Int

    package init(transferLimit: Int?) {
        self.transferLimit = transferLimit ?? Int.max
    }

    /// Workers with a number below this send; the others wait.
    package var activeWorkers: Int { target.load(ordering: .relaxed) }
    package func setActiveWorkers(_ n: Int) { target.store(n, ordering: .relaxed) }

    package var isStopped: Bool { stopped.load(ordering: .relaxed) }
    package func stop() { stopped.store(true, ordering: .relaxed) }

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
