package import LedgerCore
import Synchronization

/// The sharded layout: a `ShardedEngine` whose batches run in rounds on shard actors.
///
/// A batch's rounds suspend, so it cannot apply inside the durable ledger's lock: `apply`
/// only notes the batch's stamp and returns a queued turn, and `LSNTurns` runs the turns
/// strictly in LSN order, one at a time, with reads between them.
package final class ShardedSequencer: Sequencer {
    /// What stamping needs to know of the batches logged so far (applied or not yet).
    private struct Logged {
        var lsn: UInt64
        var lastTimestamp: UInt64
        var events: Int
    }

    private let shards: Int
    private let turns: LSNTurns
    private let logged: Mutex<Logged>
    /// Snapshots due after a batch still queued, by that batch's LSN: taken in its turn.
    private let captures = Mutex<[UInt64: SnapshotPromise]>([:])
    package let expiries: ExpiryWatch

    /// Takes over `engine`, whose state covers exactly `lsn`.
    package init(engine: ShardedEngine, lsn: UInt64) {
        shards = engine.ledger.shardCount
        expiries = ExpiryWatch(engine.ledger.nextPendingDeadline())
        turns = LSNTurns(engine: engine, appliedLSN: lsn)
        let ledger = engine.ledger
        logged = Mutex(Logged(lsn: lsn, lastTimestamp: ledger.lastTimestamp, events: ledger.recordCount))
    }

    package var shardCount: Int { shards }
    package var takesSnapshots: Bool { true }
    package var appliesInPlace: Bool { false }

    package func timestamp(count: Int, wallClock: UInt64) throws(EngineError) -> UInt64 {
        let shards = shardCount
        return try logged.withLock { (l) throws(EngineError) -> UInt64 in
            // Each shard holds at most `localCapacity` records of a kind; ids spread evenly
            // by hash, so 90 % of the shards' total leaves ample room for imbalance (the
            // ledger's own per-shard check would otherwise refuse a batch already logged).
            guard l.events + count <= ShardRouting.localCapacity / 10 * 9 * shards else {
                throw EngineError(.batchRefused, "the ledger's store is full")
            }
            return max(wallClock, l.lastTimestamp + UInt64(max(count, 1)))
        }
    }

    package func apply(_ batch: LoggedBatch) -> Applying {
        logged.withLock { l in
            precondition(batch.lsn == l.lsn + 1, "LSN \(batch.lsn) handed to the sharded sequencer after \(l.lsn)")
            precondition(batch.timestamp > l.lastTimestamp, "batch timestamps must increase")
            l.lsn = batch.lsn
            l.lastTimestamp = batch.timestamp
            l.events += batch.events.count
        }
        let turns = self.turns
        let expiries = self.expiries
        return .queued { () async throws(LedgerError) -> BatchResults in
            try await turns.apply(lsn: batch.lsn) { (engine) async throws(LedgerError) -> BatchResults in
                let results: BatchResults
                do throws(LedgerError) {
                    results = try await engine.apply(batch.events, timestamp: batch.timestamp)
                } catch {
                    self.takeCapture(batch.lsn)?.fulfil(nil)
                    throw error
                }
                // Still this batch's turn: no other batch or read touches the state.
                expiries.publish(engine.ledger.nextPendingDeadline())
                if let promise = self.takeCapture(batch.lsn) {
                    promise.fulfil(engine.ledger.snapshot())
                }
                return results
            }
        }
    }

    package func read<T: Sendable>(_ body: (any LedgerReading) -> T) async -> (value: T, lsn: UInt64, timeline: UInt64) {
        // The caller waits while the body runs on the actor, so handing it over is safe.
        await withoutActuallyEscaping(body) { body in
            let box = CallerBound(body)
            return await turns.read { ledger in box.value(ledger) }
        }
    }

    package func readNow(_ body: (any LedgerReading) -> UInt64) -> (freshness: UInt64, lsn: UInt64, timeline: UInt64)? {
        nil
    }

    package func rollBack(directory: String, allowDamaged: Bool, to lsn: UInt64, timeline: UInt64) async throws(EngineError) {
        // Batches logged before the failure still take their turns (on the old state).
        await turns.waitApplied(through: logged.withLock { $0.lsn })
        // A capture still registered would be for an LSN the rollback takes back: cancel it.
        let stale = captures.withLock { pending in
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for promise in stale { promise.fulfil(nil) }
        let recovered: LedgerRecovery.ShardedOutcome
        do throws(LedgerRecovery.Failure) {
            recovered = try await LedgerRecovery.recoverSharded(
                directory: directory, shardCount: shards, allowDamaged: allowDamaged, through: lsn)
        } catch {
            throw EngineError(.diverged, "the state could not be rebuilt up to LSN \(lsn): \(error)", cause: .recovery(error))
        }
        guard recovered.lsn == lsn else {
            throw EngineError(.diverged, "the state was rebuilt up to LSN \(recovered.lsn), not the durable LSN \(lsn)")
        }
        let engine = recovered.engine
        let ledger = engine.ledger
        logged.withLock { l in
            assert(l.lsn >= lsn, "a rollback never moves the state forward")
            l = Logged(lsn: lsn, lastTimestamp: ledger.lastTimestamp, events: ledger.recordCount)
        }
        expiries.publish(ledger.nextPendingDeadline())
        await turns.replace(engine: engine, appliedLSN: lsn, timeline: timeline)
    }

    /// The capture registered for the batch at `lsn`, removed.
    private func takeCapture(_ lsn: UInt64) -> SnapshotPromise? {
        captures.withLock { $0.removeValue(forKey: lsn) }
    }

    /// Registers a capture for the batch last handed to `apply`, taken in its turn (which
    /// runs only once its caller awaits the results, after this returns).
    package func snapshot() -> SnapshotCapture {
        let promise = SnapshotPromise()
        let lsn = logged.withLock { $0.lsn }
        captures.withLock { pending in
            assert(pending[lsn] == nil, "one capture per LSN")
            pending[lsn] = promise
        }
        return .pending(promise)
    }
}

/// Runs the turns of logged batches on a sharded engine strictly in LSN order, one at a
/// time, and serves reads between them.
///
/// A batch's rounds suspend (they run on the shard actors), so a plain lock cannot hold
/// the order: callers wait here for their LSN's turn; reads wait while a batch is being
/// applied and then run synchronously, seeing every batch applied so far.
actor LSNTurns {
    private(set) var engine: ShardedEngine
    private var applied: UInt64
    /// The log's timeline the state belongs to (`replace`).
    private var timeline: UInt64 = 0
    private var running = false
    /// `waitApplied` callers: the LSN each waits for.
    private var drainWaiters: [(lsn: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    private var batchWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var readWaiters: [CheckedContinuation<Void, Never>] = []

    init(engine: ShardedEngine, appliedLSN: UInt64) {
        self.engine = engine
        applied = appliedLSN
    }

    /// Runs `work` as the batch with this LSN, after every earlier LSN.
    func apply<R: Sendable>(
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

    /// Runs `body` on the state between batches; also returns the last LSN applied.
    func read<T: Sendable>(_ body: @Sendable (ShardedLedger) -> T) async -> (value: T, lsn: UInt64, timeline: UInt64) {
        while running {
            await withCheckedContinuation { readWaiters.append($0) }
        }
        return (body(engine.ledger), applied, timeline)
    }

    /// Returns once every batch up to `lsn` has taken its turn.
    func waitApplied(through lsn: UInt64) async {
        while applied < lsn || running {
            await withCheckedContinuation { drainWaiters.append((lsn, $0)) }
        }
    }

    /// Swaps in a rebuilt state covering `appliedLSN` (a rollback): no turn is running or
    /// waiting (`waitApplied` first, and no batch is logged meanwhile).
    func replace(engine: ShardedEngine, appliedLSN: UInt64, timeline: UInt64) {
        precondition(!running && batchWaiters.isEmpty, "a rollback swaps the state only between batches")
        self.engine = engine
        applied = appliedLSN
        self.timeline = timeline
    }

    private func wake() {
        let readers = readWaiters
        readWaiters.removeAll()
        for r in readers { r.resume() }
        let drained = drainWaiters.filter { $0.lsn <= applied }
        drainWaiters.removeAll { $0.lsn <= applied }
        for d in drained { d.continuation.resume() }
        if let next = batchWaiters.removeValue(forKey: applied + 1) { next.resume() }
    }
}

/// A closure handed to an actor while its caller awaits the call: never used concurrently.
private struct CallerBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
