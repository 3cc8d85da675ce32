package import LedgerCore
package import LedgerStorage
import Synchronization

/// The ledger behind its write-ahead log: the one place where write batches are ordered,
/// logged, applied and made durable, and where reads are served.
///
/// Under one lock a batch is checked, stamped with a strictly increasing timestamp, given
/// the next LSN, appended to the log and applied, so LSN order is apply order and replay
/// reproduces the state exactly. The caller is answered only once the batch is durable;
/// waiting happens outside the lock, so batches from many callers share one log write
/// (group commit). A read waits until the state it saw is durable, so no answer ever
/// shows a change that a crash could take back.
///
/// With more than one shard the ledger is a `ShardedLedger` whose batches run in rounds
/// on shard actors: the lock then only stamps and logs a batch, and a `ShardedSequencer`
/// applies logged batches in LSN order (see `submitSharded`).
package final class DurableLedger: Sendable {
    private struct State {
        /// The serial ledger (nil with shards: the sequencer owns the state).
        let ledger: Ledger?
        /// The LSN the in-memory state covers (serial), or the last LSN logged (sharded).
        var lsn: UInt64
        /// Set once the log failed or a logged batch did not apply: refuse all writes.
        var failure: EngineError?
        /// Sharded: the timestamp of the last batch logged, and events logged so far.
        var lastTimestamp: UInt64 = 0
        var loggedEvents: Int = 0
        var shardCount: Int = 1
    }

    package let directory: String
    /// What the open found and did (for the recovery log lines).
    package let startup: StartupSummary
    private let writer: WALWriter
    private let clock: any BatchClock
    private let state: Mutex<State>
    private let snapshots: SnapshotScheduler
    private let sequencer: ShardedSequencer?

    private init(directory: String, startup: StartupSummary, ledger: sending Ledger, lsn: UInt64, writer: WALWriter,
                 clock: any BatchClock, snapshotEvery: UInt64,
                 onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void) {
        self.directory = directory
        self.startup = startup
        self.writer = writer
        self.clock = clock
        state = Mutex(State(ledger: ledger, lsn: lsn, failure: nil))
        snapshots = SnapshotScheduler(every: snapshotEvery, directory: directory, writer: writer, onOutcome: onSnapshot)
        sequencer = nil
    }

    private init(directory: String, startup: StartupSummary, sharded engine: ShardedEngine, lsn: UInt64,
                 writer: WALWriter, clock: any BatchClock) {
        self.directory = directory
        self.startup = startup
        self.writer = writer
        self.clock = clock
        let ledger = engine.ledger
        state = Mutex(State(ledger: nil, lsn: lsn, failure: nil, lastTimestamp: ledger.lastTimestamp,
                            loggedEvents: ledger.recordCount, shardCount: ledger.shardCount))
        snapshots = SnapshotScheduler(every: 0, directory: directory, writer: writer, onOutcome: { _ in })
        sequencer = ShardedSequencer(engine: engine, appliedLSN: lsn)
    }

    /// Opens a data directory for a ledger sharded `shards` ways (2...16): recovery copies
    /// the newest snapshot into the shards and replays the log through the shard actors.
    /// Snapshots are not taken in this mode yet (the log keeps every batch).
    package static func openSharded(
        directory: String, shards: Int, segmentSize: Int = 64 << 20, allowDamaged: Bool = false,
        clock: any BatchClock = WallClock()
    ) async throws(EngineError) -> DurableLedger {
        guard shards >= 1, shards <= ShardRouting.maxShards else {
            throw EngineError(.recoveryFailed, "shards must be between 1 and \(ShardRouting.maxShards), not \(shards)")
        }
        let began = monotonicNow()
        let configuration = WALConfiguration(directory: directory, segmentSize: segmentSize, allowDamaged: allowDamaged)
        let writer: WALWriter
        do {
            (writer, _) = try await WALWriter.openAsync(configuration)
        } catch {
            throw openFailure(error, directory: directory)
        }
        let recovered: LedgerRecovery.ShardedOutcome
        do {
            recovered = try await LedgerRecovery.recoverSharded(directory: directory, shardCount: shards, allowDamaged: allowDamaged)
        } catch {
            await writer.close()
            throw EngineError(.recoveryFailed, "cannot recover \(directory): \(error)")
        }
        guard recovered.lsn == writer.lastAssignedLSN else {
            await writer.close()
            throw EngineError(.recoveryFailed,
                "the state covers LSN \(recovered.lsn) but the log ends at \(writer.lastAssignedLSN)")
        }
        let startup = StartupSummary(
            directory: StartupSummary.absolute(directory), verdict: writer.startup,
            snapshotLSN: recovered.snapshot?.lsn ?? 0, replayedFrom: (recovered.snapshot?.lsn ?? 0) + 1,
            replayedThrough: recovered.lsn, replayedRecords: recovered.replayedRecords,
            replayedEvents: recovered.replayedEvents, seconds: monotonicNow() - began)
        return DurableLedger(directory: directory, startup: startup, sharded: recovered.engine, lsn: recovered.lsn,
                             writer: writer, clock: clock)
    }

    /// Recovers the data directory (newest valid snapshot + log; a torn tail is cut) and
    /// opens the log for appending. Blocking work runs on a dedicated thread.
    /// - Parameters:
    ///   - snapshotEvery: take a snapshot every this many LSNs (0: never).
    ///   - expectedTransfers: size the transfer id index for this many transfers now
    ///     (`Ledger.reserveCapacity`; 0: grow as needed).
    ///   - onSnapshot: told when each snapshot is written or fails (for logs and metrics;
    ///     a failed snapshot loses nothing, the log still holds every batch).
    package static func open(
        directory: String, segmentSize: Int = 64 << 20, allowDamaged: Bool = false,
        snapshotEvery: UInt64 = 0, expectedTransfers: Int = 0, clock: any BatchClock = WallClock(),
        onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void = { _ in }
    ) async throws(EngineError) -> DurableLedger {
        let began = monotonicNow()
        let configuration = WALConfiguration(directory: directory, segmentSize: segmentSize, allowDamaged: allowDamaged)
        let writer: WALWriter
        do {
            (writer, _) = try await WALWriter.openAsync(configuration)
        } catch {
            throw openFailure(error, directory: directory)
        }
        let recovered: LedgerRecovery.Outcome
        do {
            recovered = try await DedicatedThread.run { () throws(WALError) -> Handoff in
                do {
                    return Handoff(try LedgerRecovery.recover(directory: directory, repair: false, allowDamaged: allowDamaged))
                } catch {
                    throw WALError(.damaged, "\(error)")
                }
            }.outcome
        } catch {
            await writer.close()
            throw EngineError(.recoveryFailed, "cannot recover \(directory): \(error)")
        }
        guard recovered.lsn == writer.lastAssignedLSN else {
            await writer.close()
            throw EngineError(.recoveryFailed,
                "the state covers LSN \(recovered.lsn) but the log ends at \(writer.lastAssignedLSN)")
        }
        let ledger = recovered.ledger
        if expectedTransfers > 0 { ledger.reserveCapacity(transfers: expectedTransfers) }
        ledger.prepareSnapshotMemory()
        let startup = StartupSummary(
            directory: StartupSummary.absolute(directory), verdict: writer.startup,
            snapshotLSN: recovered.snapshot?.lsn ?? 0, replayedFrom: (recovered.snapshot?.lsn ?? 0) + 1,
            replayedThrough: recovered.lsn, replayedRecords: recovered.replayedRecords,
            replayedEvents: recovered.replayedEvents, seconds: monotonicNow() - began)
        return DurableLedger(directory: directory, startup: startup, ledger: ledger, lsn: recovered.lsn, writer: writer,
                             clock: clock, snapshotEvery: snapshotEvery, onSnapshot: onSnapshot)
    }

    /// The engine error for a log that would not open: a held lock or a directory that
    /// holds less than it must is said plainly, with the directory's absolute path.
    private static func openFailure(_ error: WALError, directory: String) -> EngineError {
        switch error.code {
        case .locked, .missingRecords, .damaged, .corrupt:
            return EngineError(.recoveryFailed, "\(StartupSummary.absolute(directory)): \(error.message)")
        default:
            return EngineError(.recoveryFailed, "cannot open the log in \(directory): \(error)")
        }
    }

    /// Moves a freshly recovered ledger from the recovery thread to its owner. Unchecked:
    /// the recovery thread drops every reference before the hand-off, so nothing is shared.
    private struct Handoff: @unchecked Sendable {
        let outcome: LedgerRecovery.Outcome
        init(_ outcome: LedgerRecovery.Outcome) { self.outcome = outcome }
    }

    /// `create_accounts`: answered once the batch is durable.
    package func createAccounts(_ events: [Account]) async throws(EngineError) -> [CreateAccountResult] {
        if sequencer != nil {
            return try await submitSharded(.createAccounts, count: events.count, body: { RecordCodec.encodeAccounts(events) }) {
                (engine, timestamp) throws(LedgerError) in try engine.createAccounts(events, timestamp: timestamp)
            }
        }
        return try await submit(.createAccounts, count: events.count, body: { RecordCodec.encodeAccounts(events) }) {
            (ledger, timestamp) throws(LedgerError) in try ledger.createAccounts(events, timestamp: timestamp)
        }
    }

    /// `create_transfers`: answered once the batch is durable.
    package func createTransfers(_ events: [Transfer]) async throws(EngineError) -> [CreateTransferResult] {
        if sequencer != nil {
            return try await submitSharded(.createTransfers, count: events.count, body: { RecordCodec.encodeTransfers(events) }) {
                (engine, timestamp) throws(LedgerError) in try await engine.createTransfers(events, timestamp: timestamp)
            }
        }
        return try await submit(.createTransfers, count: events.count, body: { RecordCodec.encodeTransfers(events) }) {
            (ledger, timestamp) throws(LedgerError) in try ledger.createTransfers(events, timestamp: timestamp)
        }
    }

    /// `pulse`: expires due pending transfers now (logged like any batch).
    package func pulse() async throws(EngineError) {
        if sequencer != nil {
            let _: [CreateTransferResult] = try await submitSharded(.pulse, count: 0, body: { [] }) {
                (engine, timestamp) throws(LedgerError) in
                try engine.pulse(timestamp: timestamp)
                return []
            }
            return
        }
        let _: [CreateTransferResult] = try await submit(.pulse, count: 0, body: { [] }) {
            (ledger, timestamp) throws(LedgerError) in
            try ledger.pulse(timestamp: timestamp)
            return []
        }
    }

    /// Runs `body` on the current state, then waits until that state is durable.
    package func read<T: Sendable>(_ body: (any LedgerReading) -> T) async throws(EngineError) -> T {
        let value: T
        let lsn: UInt64
        if let sequencer {
            (value, lsn) = await readSharded(sequencer, body)
        } else {
            let pair: (T, UInt64)? = state.withLock { s in
                guard let ledger = s.ledger else { return nil }
                return (body(ledger), s.lsn)
            }
            guard let pair else { throw EngineError(.diverged, "no serial ledger") }
            (value, lsn) = pair
        }
        do {
            try await writer.waitDurable(lsn)
        } catch {
            throw EngineError(.logFailed, "\(error)")
        }
        return value
    }

    /// The LSN of the last applied batch and the state digest (for tests and replicas).
    package func status() async -> (lsn: UInt64, digest: StateDigest) {
        if let sequencer {
            let (digest, lsn) = await sequencer.read { ledger in ledger.digest() }
            return (lsn, digest)
        }
        return state.withLock { s in (s.lsn, (s.ledger ?? Ledger()).digest()) }
    }

    /// How many shards the ledger has (1: the serial ledger).
    package var shardCount: Int { sequencer?.engine.ledger.shardCount ?? 1 }

    private func readSharded<T: Sendable>(_ sequencer: ShardedSequencer, _ body: (any LedgerReading) -> T) async -> (T, UInt64) {
        // The sequencer returns the last LSN applied: the state the read saw. The caller
        // waits while the body runs on the sequencer, so handing it over is safe.
        await withoutActuallyEscaping(body) { body in
            let box = CallerBound(body)
            return await sequencer.read { ledger in box.value(ledger) }
        }
    }

    /// The log's counters (appends, group-commit writes, bytes).
    package var logStats: WALStats { writer.stats }

    /// Highest LSN known durable in the log.
    package var durableLSN: UInt64 { writer.durableLSN }

    /// Highest LSN logged (applied, or being applied, in memory).
    package var loggedLSN: UInt64 { writer.lastAssignedLSN }

    /// True while writes are accepted: the log has not failed and the ledger is open.
    package var acceptsWrites: Bool { state.withLock { $0.failure == nil } && writer.failure == nil }

    /// Tells `observer` about every group commit of the log (metrics).
    package func observeLog(_ observer: any WALObserver) { writer.observe(observer) }

    /// Stops accepting writes, lets the log finish what is in flight and closes it.
    package func close() async {
        state.withLock { if $0.failure == nil { $0.failure = EngineError(.closed, "the ledger is closed") } }
        await snapshots.drain()
        await writer.close()
    }

    private func submit<R: Sendable>(
        _ operation: Operation, count: Int, body: () -> [UInt8],
        apply: (Ledger, UInt64) throws(LedgerError) -> [R]
    ) async throws(EngineError) -> [R] {
        guard count <= LedgerLimits.batchMax else {
            throw EngineError(.batchRefused, "\(count) events; at most \(LedgerLimits.batchMax) per batch")
        }
        let writer = self.writer
        let now = clock.nanosecondsSinceEpoch()
        let snapshots = self.snapshots
        let (results, lsn, capture) = try state.withLock {
            (s) throws(EngineError) -> ([R], UInt64, LedgerSnapshot?) in
            if let failure = s.failure { throw failure }
            guard let ledger = s.ledger else { throw EngineError(.diverged, "no serial ledger") }
            guard ledger.canAccept(count: count) else {
                throw EngineError(.batchRefused, "the ledger's store is full")
            }
            let timestamp = ledger.nextBatchTimestamp(wallClock: now, count: count)
            let lsn: UInt64
            do {
                lsn = try writer.append(operation: operation.rawValue, timestamp: timestamp,
                                        eventCount: UInt32(count), body: body())
            } catch {
                s.failure = EngineError(.logFailed, "\(error)")
                throw EngineError(.logFailed, "\(error)")
            }
            guard lsn == s.lsn + 1 else {
                s.failure = EngineError(.diverged, "the log assigned LSN \(lsn) after \(s.lsn)")
                throw s.failure ?? EngineError(.diverged, "")
            }
            let results: [R]
            do {
                results = try apply(ledger, timestamp)
            } catch {
                s.failure = EngineError(.diverged, "LSN \(lsn) was logged but did not apply: \(error)")
                throw s.failure ?? EngineError(.diverged, "")
            }
            s.lsn = lsn
            return (results, lsn, snapshots.claim(lsn: lsn) ? ledger.snapshot() : nil)
        }
        if let capture { snapshots.write(capture, lsn: lsn) }
        do {
            try await writer.waitDurable(lsn)
        } catch {
            state.withLock { if $0.failure == nil { $0.failure = EngineError(.logFailed, "\(error)") } }
            throw EngineError(.logFailed, "\(error)")
        }
        return results
    }

    /// The sharded write path: under the lock the batch is checked, stamped and logged
    /// (so LSN order is timestamp order); then the sequencer applies it in LSN order; the
    /// caller is answered once it is applied and durable.
    private func submitSharded<R: Sendable>(
        _ operation: Operation, count: Int, body: () -> [UInt8],
        apply: @escaping @Sendable (ShardedEngine, UInt64) async throws(LedgerError) -> [R]
    ) async throws(EngineError) -> [R] {
        guard count <= LedgerLimits.batchMax else {
            throw EngineError(.batchRefused, "\(count) events; at most \(LedgerLimits.batchMax) per batch")
        }
        guard let sequencer else { throw EngineError(.diverged, "no sharded ledger") }
        let writer = self.writer
        let now = clock.nanosecondsSinceEpoch()
        let (lsn, timestamp) = try state.withLock { (s) throws(EngineError) -> (UInt64, UInt64) in
            if let failure = s.failure { throw failure }
            // Each shard holds at most `localCapacity` records of a kind; ids spread evenly
            // by hash, so 90 % of the shards' total leaves ample room for imbalance (the
            // ledger's own per-shard check would otherwise refuse a batch already logged).
            guard s.loggedEvents + count <= ShardRouting.localCapacity / 10 * 9 * s.shardCount else {
                throw EngineError(.batchRefused, "the ledger's store is full")
            }
            let timestamp = max(now, s.lastTimestamp + UInt64(max(count, 1)))
            let lsn: UInt64
            do {
                lsn = try writer.append(operation: operation.rawValue, timestamp: timestamp,
                                        eventCount: UInt32(count), body: body())
            } catch {
                s.failure = EngineError(.logFailed, "\(error)")
                throw EngineError(.logFailed, "\(error)")
            }
            guard lsn == s.lsn + 1 else {
                s.failure = EngineError(.diverged, "the log assigned LSN \(lsn) after \(s.lsn)")
                throw s.failure ?? EngineError(.diverged, "")
            }
            s.lsn = lsn
            s.lastTimestamp = timestamp
            s.loggedEvents += count
            return (lsn, timestamp)
        }
        let results: [R]
        do {
            results = try await sequencer.apply(lsn: lsn) { engine throws(LedgerError) in try await apply(engine, timestamp) }
        } catch {
            let failure = EngineError(.diverged, "LSN \(lsn) was logged but did not apply: \(error)")
            state.withLock { if $0.failure == nil { $0.failure = failure } }
            throw failure
        }
        do {
            try await writer.waitDurable(lsn)
        } catch {
            state.withLock { if $0.failure == nil { $0.failure = EngineError(.logFailed, "\(error)") } }
            throw EngineError(.logFailed, "\(error)")
        }
        return results
    }
}

/// A closure handed to an actor while its caller awaits the call: never used concurrently.
private struct CallerBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
