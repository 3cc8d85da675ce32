package import LedgerCore

/// Applies logged batches to a sharded engine strictly in LSN order, one at a time, and
/// serves reads between them.
///
/// A batch's rounds suspend (they run on the shard actors), so a plain lock cannot hold
/// the order: callers wait here for their LSN's turn; reads wait while a batch is being
/// applied and then run synchronously, seeing every batch applied so far.
package actor ShardedSequencer {
    package let engine: ShardedEngine
    private var applied: UInt64
    private var running = false
    private var batchWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var readWaiters: [CheckedContinuation<Void, Never>] = []

    package init(engine: ShardedEngine, appliedLSN: UInt64) {
        self.engine = engine
        applied = appliedLSN
    }

    /// Runs `work` as the batch with this LSN, after every earlier LSN.
    package func apply<R: Sendable>(
        lsn: UInt64, _ work: @Sendable (ShardedEngine) async throws(LedgerError) -> R
    ) async throws(LedgerError) -> R {
        while lsn != applied + 1 || running {
            await withCheckedContinuation { batchWaiters[lsn] = $0 }
        }
        running = true
        defer {
            running = false
            applied = lsn
            wake()
        }
        return try await work(engine)
    }

    /// Runs `body` on the state between batches; also returns the last LSN applied (the
    /// state `body` saw).
    package func read<T: Sendable>(_ body: @Sendable (ShardedLedger) -> T) async -> (value: T, lsn: UInt64) {
        while running {
            await withCheckedContinuation { readWaiters.append($0) }
        }
        return (body(engine.ledger), applied)
    }

    private func wake() {
        let readers = readWaiters
        readWaiters.removeAll()
        for r in readers { r.resume() }
        if let next = batchWaiters.removeValue(forKey: applied + 1) { next.resume() }
    }
}
