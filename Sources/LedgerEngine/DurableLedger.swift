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
package final class DurableLedger: Sendable {
    private struct State {
        let ledger: Ledger
        /// The LSN the in-memory state covers.
        var lsn: UInt64
        /// Set once the log failed or a logged batch did not apply: refuse all writes.
        var failure: EngineError?
    }

    package let directory: String
    private let writer: WALWriter
    private let clock: any BatchClock
    private let state: Mutex<State>
    private let snapshots: SnapshotScheduler

    private init(directory: String, ledger: sending Ledger, lsn: UInt64, writer: WALWriter,
                 clock: any BatchClock, snapshotEvery: UInt64,
                 onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void) {
        self.directory = directory
        self.writer = writer
        self.clock = clock
        state = Mutex(State(ledger: ledger, lsn: lsn, failure: nil))
        snapshots = SnapshotScheduler(every: snapshotEvery, directory: directory, writer: writer, onOutcome: onSnapshot)
    }

    /// Recovers the data directory (newest valid snapshot + log; a torn tail is cut) and
    /// opens the log for appending. Blocking work runs on a dedicated thread.
    /// - Parameters:
    ///   - snapshotEvery: take a snapshot every this many LSNs (0: never).
    ///   - onSnapshot: told when each snapshot is written or fails (for logs and metrics;
    ///     a failed snapshot loses nothing, the log still holds every batch).
    package static func open(
        directory: String, segmentSize: Int = 64 << 20, allowDamaged: Bool = false,
        snapshotEvery: UInt64 = 0, clock: any BatchClock = WallClock(),
        onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void = { _ in }
    ) async throws(EngineError) -> DurableLedger {
        let configuration = WALConfiguration(directory: directory, segmentSize: segmentSize, allowDamaged: allowDamaged)
        let writer: WALWriter
        do {
            (writer, _) = try await WALWriter.openAsync(configuration)
        } catch {
            throw EngineError(.recoveryFailed, "cannot open the log in \(directory): \(error)")
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
        ledger.prepareSnapshotMemory()
        return DurableLedger(directory: directory, ledger: ledger, lsn: recovered.lsn, writer: writer,
                             clock: clock, snapshotEvery: snapshotEvery, onSnapshot: onSnapshot)
    }

    /// Moves a freshly recovered ledger from the recovery thread to its owner. Unchecked:
    /// the recovery thread drops every reference before the hand-off, so nothing is shared.
    private struct Handoff: @unchecked Sendable {
        let outcome: LedgerRecovery.Outcome
        init(_ outcome: LedgerRecovery.Outcome) { self.outcome = outcome }
    }

    /// `create_accounts`: answered once the batch is durable.
    package func createAccounts(_ events: [Account]) async throws(EngineError) -> [CreateAccountResult] {
        try await submit(.createAccounts, count: events.count, body: { RecordCodec.encodeAccounts(events) }) {
            (ledger, timestamp) throws(LedgerError) in try ledger.createAccounts(events, timestamp: timestamp)
        }
    }

    /// `create_transfers`: answered once the batch is durable.
    package func createTransfers(_ events: [Transfer]) async throws(EngineError) -> [CreateTransferResult] {
        try await submit(.createTransfers, count: events.count, body: { RecordCodec.encodeTransfers(events) }) {
            (ledger, timestamp) throws(LedgerError) in try ledger.createTransfers(events, timestamp: timestamp)
        }
    }

    /// `pulse`: expires due pending transfers now (logged like any batch).
    package func pulse() async throws(EngineError) {
        let _: [CreateTransferResult] = try await submit(.pulse, count: 0, body: { [] }) {
            (ledger, timestamp) throws(LedgerError) in
            try ledger.pulse(timestamp: timestamp)
            return []
        }
    }

    /// Runs `body` on the current state, then waits until that state is durable.
    package func read<T: Sendable>(_ body: (Ledger) -> T) async throws(EngineError) -> T {
        let (value, lsn) = state.withLock { s in (body(s.ledger), s.lsn) }
        do {
            try await writer.waitDurable(lsn)
        } catch {
            throw EngineError(.logFailed, "\(error)")
        }
        return value
    }

    /// The LSN of the last applied batch and the state digest (for tests and replicas).
    package func status() -> (lsn: UInt64, digest: StateDigest) {
        state.withLock { ($0.lsn, $0.ledger.digest()) }
    }

    /// The log's counters (appends, group-commit writes, bytes).
    package var logStats: WALStats { writer.stats }

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
            guard s.ledger.canAccept(count: count) else {
                throw EngineError(.batchRefused, "the ledger's store is full")
            }
            let timestamp = s.ledger.nextBatchTimestamp(wallClock: now, count: count)
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
                results = try apply(s.ledger, timestamp)
            } catch {
                s.failure = EngineError(.diverged, "LSN \(lsn) was logged but did not apply: \(error)")
                throw s.failure ?? EngineError(.diverged, "")
            }
            s.lsn = lsn
            return (results, lsn, snapshots.claim(lsn: lsn) ? s.ledger.snapshot() : nil)
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
}
