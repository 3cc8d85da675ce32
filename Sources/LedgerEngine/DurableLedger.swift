package import LedgerCore
package import LedgerStorage
import Synchronization

/// The ledger behind its write-ahead log: the one place where write batches are ordered,
/// logged and made durable, and where failures are latched.
///
/// Under one lock a batch is checked, stamped with a strictly increasing timestamp, given
/// the next LSN, appended to the log and handed to the `Sequencer`, which applies it (the
/// serial layout, on the spot) or queues it for its turn in LSN order (the sharded
/// layout, whose rounds suspend). The caller is answered only once the batch is applied
/// and durable; waiting happens outside the lock, so batches from many callers share one
/// log write (group commit). A read waits until the state it saw is durable, so no
/// answer ever shows a change that a crash could take back. A failed log write refuses
/// writes with `logUnavailable` until the state is rolled back to the durable LSN and
/// the log writes again (`LogRollback.swift`).
package final class DurableLedger: Sendable {
    struct State {
        /// The last LSN logged.
        var lsn: UInt64
        /// Set once the log failed or a logged batch did not apply: refuse all writes.
        var failure: EngineError?
        /// The replication epoch records are written in (the newest one logged, on a follower).
        var epoch: UInt64
        /// Whether client writes are accepted (primary) or records come from a primary.
        /// Every change is copied to `roleNow` (read without this lock).
        var role: NodeRole {
            didSet { roleNow.set(role) }
        }
        /// `role`, for readers that must not wait for this lock.
        let roleNow: RoleMirror
        /// A follower's applier of shipped batches (layouts that apply in place; started
        /// with the first shipped record, ended by a promotion or `close`).
        var applier: ShippedApplier?
        /// Where the state is in its rollback after a log failure (`LogRollback`).
        var rollback: LogRollback = .none
        /// Reads waiting for the rollback to finish (they saw state it takes back).
        var rollbackWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// How many shipped batches may wait for the applier before the receive path waits.
    package static let shippedApplyWindow = 8

    package let directory: String
    /// What the open found and did (for the recovery log lines).
    package let startup: StartupSummary
    let writer: WALWriter
    private let clock: any BatchClock
    let state: Mutex<State>
    /// `State.role` as of its last change (the object the state updates).
    private let roleNow: RoleMirror
    private let snapshots: SnapshotScheduler
    let sequencer: any Sequencer
    /// Sync replication's hold on answers (nil: answer after the local fsync).
    let gate = Mutex<(any ReplicationGate)?>(nil)
    /// Told when the log fails, the state is rolled back, and writes resume (logs,
    /// metrics, a replicated node's step-down).
    let conditionListeners = Mutex<[@Sendable (LogCondition) -> Void]>([])

    private init(directory: String, startup: StartupSummary, sequencer: any Sequencer, lsn: UInt64, writer: WALWriter,
                 clock: any BatchClock, snapshots: SnapshotScheduler, epoch: UInt64, role: NodeRole) {
        precondition(!snapshots.enabled || sequencer.takesSnapshots, "snapshots need a layout that takes them")
        self.directory = directory
        self.startup = startup
        self.writer = writer
        self.clock = clock
        self.sequencer = sequencer
        self.snapshots = snapshots
        roleNow = RoleMirror(role)
        state = Mutex(State(lsn: lsn, failure: nil, epoch: epoch, role: role, roleNow: roleNow, applier: nil))
        writer.onHealth { [weak self] health in self?.logHealth(health) }
    }

    /// Opens a data directory for a ledger sharded `shards` ways (1...16): recovery copies
    /// the newest snapshot into the shards and replays the log through the shard actors.
    /// Snapshots (same triggers and file format as `open`) are captured in the turn of the
    /// batch they follow and merged into the serial layout as they are written.
    package static func openSharded(
        directory: String, shards: Int, segmentSize: Int = 64 << 20, allowDamaged: Bool = false,
        prepareSegments: Bool = true, snapshotEvery: UInt64 = 0, snapshotLogBytes: UInt64 = 0,
        clock: any BatchClock = WallClock(), epoch: UInt64 = 0, role: NodeRole = .primary,
        onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void = { _ in }
    ) async throws(EngineError) -> DurableLedger {
        guard shards >= 1, shards <= ShardRouting.maxShards else {
            throw EngineError(.recoveryFailed, "shards must be between 1 and \(ShardRouting.maxShards), not \(shards)")
        }
        let configuration = WALConfiguration(directory: directory, segmentSize: segmentSize, allowDamaged: allowDamaged,
                                             prepareSegments: prepareSegments)
        return try await open(configuration, clock: clock, snapshotEvery: snapshotEvery, snapshotLogBytes: snapshotLogBytes,
                              epoch: epoch, role: role, onSnapshot: onSnapshot) {
            (checked) async throws(EngineError) -> Recovered in
            let recovered: LedgerRecovery.ShardedOutcome
            do throws(LedgerRecovery.Failure) {
                recovered = try await LedgerRecovery.recoverSharded(
                    directory: directory, shardCount: shards, allowDamaged: allowDamaged, checked: checked)
            } catch {
                throw EngineError(.recoveryFailed, "cannot recover \(directory): \(error)", cause: .recovery(error))
            }
            return Recovered(
                sequencer: ShardedSequencer(engine: recovered.engine, lsn: recovered.lsn), lsn: recovered.lsn,
                snapshotLSN: recovered.snapshot?.lsn ?? 0, records: recovered.replayedRecords,
                events: recovered.replayedEvents)
        }
    }

    /// Recovers the data directory (newest valid snapshot + log; a torn tail is cut) and
    /// opens the log for appending. Blocking work runs on a dedicated thread.
    /// - Parameters:
    ///   - snapshotEvery: take a snapshot every this many LSNs (0: never).
    ///   - snapshotLogBytes: take a snapshot once this many bytes of records were logged
    ///     since the last one (0: never); with `snapshotEvery`, whichever comes first.
    ///   - expectedTransfers: set aside and fault in now, before serving, the memory this
    ///     many transfers in all need (`StartupCapacity`; 0: grow as needed).
    ///   - prepareSegments: write the next log segment with zeros ahead, off the writer
    ///     thread (`WALConfiguration.prepareSegments`).
    ///   - onSnapshot: told when each snapshot is written or fails (for logs and metrics;
    ///     a failed snapshot loses nothing, the log still holds every batch).
    package static func open(
        directory: String, segmentSize: Int = 64 << 20, allowDamaged: Bool = false, prepareSegments: Bool = true,
        snapshotEvery: UInt64 = 0, snapshotLogBytes: UInt64 = 0, expectedTransfers: Int = 0,
        clock: any BatchClock = WallClock(), epoch: UInt64 = 0, role: NodeRole = .primary,
        onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void = { _ in }
    ) async throws(EngineError) -> DurableLedger {
        let configuration = WALConfiguration(directory: directory, segmentSize: segmentSize, allowDamaged: allowDamaged,
                                             prepareSegments: prepareSegments)
        return try await open(configuration, clock: clock, snapshotEvery: snapshotEvery, snapshotLogBytes: snapshotLogBytes,
                              epoch: epoch, role: role, onSnapshot: onSnapshot) {
            (checked) async throws(EngineError) -> Recovered in
            let recovered: LedgerRecovery.Outcome
            do throws(LedgerRecovery.Failure) {
                recovered = try await DedicatedThread.run { () throws(LedgerRecovery.Failure) -> Handoff in
                    Handoff(try LedgerRecovery.recover(directory: directory, repair: false, allowDamaged: allowDamaged,
                                                       checked: checked, expectedTransfers: expectedTransfers))
                }.outcome
            } catch {
                throw EngineError(.recoveryFailed, "cannot recover \(directory): \(error)", cause: .recovery(error))
            }
            let ledger = recovered.ledger
            ledger.prepareSnapshotMemory()
            return Recovered(
                sequencer: SerialSequencer(ledger: ledger, lsn: recovered.lsn), lsn: recovered.lsn,
                snapshotLSN: recovered.snapshot?.lsn ?? 0, records: recovered.replayedRecords,
                events: recovered.replayedEvents, capacity: recovered.capacity)
        }
    }

    /// A state rebuilt by recovery, in its sequencer, and what the replay did.
    private struct Recovered {
        let sequencer: any Sequencer
        /// The LSN the state covers.
        let lsn: UInt64
        /// The LSN the snapshot it started from covered (0: none).
        let snapshotLSN: UInt64
        let records: Int
        let events: Int
        /// What `expectedTransfers` reserved (nil: nothing asked).
        var capacity: StartupCapacity? = nil
    }

    /// The one open path: opens the log (taking the directory's lock first and cutting a
    /// torn tail), recovers the state into a sequencer, and checks that the state covers
    /// exactly the log. The lock is held until `close`.
    private static func open(
        _ configuration: WALConfiguration, clock: any BatchClock, snapshotEvery: UInt64, snapshotLogBytes: UInt64 = 0,
        epoch: UInt64, role: NodeRole,
        onSnapshot: @escaping @Sendable (SnapshotScheduler.Outcome) -> Void = { _ in },
        recover: (_ checked: DirectoryCheck.Verdict) async throws(EngineError) -> Recovered
    ) async throws(EngineError) -> DurableLedger {
        let began = monotonicNow()
        let directory = configuration.directory
        let writer: WALWriter
        do throws(WALError) {
            (writer, _) = try await WALWriter.openAsync(configuration)
        } catch {
            throw openFailure(error, directory: directory)
        }
        let recovered: Recovered
        do {
            recovered = try await recover(writer.startup)
        } catch {
            await writer.close()
            throw error
        }
        guard recovered.lsn == writer.lastAssignedLSN else {
            await writer.close()
            throw EngineError(.recoveryFailed,
                              "the state covers LSN \(recovered.lsn) but the log ends at \(writer.lastAssignedLSN)")
        }
        let startup = StartupSummary(
            directory: StartupSummary.absolute(directory), verdict: writer.startup,
            snapshotLSN: recovered.snapshotLSN, replayedFrom: recovered.snapshotLSN + 1,
            replayedThrough: recovered.lsn, replayedRecords: recovered.records,
            replayedEvents: recovered.events, seconds: monotonicNow() - began, capacity: recovered.capacity)
        let snapshots = SnapshotScheduler(every: snapshotEvery, logBytes: snapshotLogBytes, directory: directory,
                                          writer: writer, onOutcome: onSnapshot)
        return DurableLedger(directory: directory, startup: startup, sequencer: recovered.sequencer, lsn: recovered.lsn,
                             writer: writer, clock: clock, snapshots: snapshots, epoch: epoch, role: role)
    }

    /// The engine error for a log that would not open: a held lock or a directory that
    /// holds less than it must is said plainly, with the directory's absolute path.
    private static func openFailure(_ error: WALError, directory: String) -> EngineError {
        switch error.code {
        case .locked, .missingRecords, .damaged, .corrupt:
            return EngineError(.recoveryFailed, "\(StartupSummary.absolute(directory)): \(error.message)", cause: .log(error))
        default:
            return EngineError(.recoveryFailed, "cannot open the log in \(directory): \(error)", cause: .log(error))
        }
    }

    /// Moves a freshly recovered ledger from the recovery thread to its owner. Unchecked:
    /// the recovery thread drops every reference before the hand-off, so nothing is shared.
    struct Handoff: @unchecked Sendable {
        let outcome: LedgerRecovery.Outcome
        init(_ outcome: LedgerRecovery.Outcome) { self.outcome = outcome }
    }

    /// `create_accounts`: answered once the batch is durable.
    package func createAccounts(_ events: [Account]) async throws(EngineError) -> [CreateAccountResult] {
        try await createAccountsAt(events).results
    }

    /// `create_transfers`: answered once the batch is durable.
    package func createTransfers(_ events: [Transfer]) async throws(EngineError) -> [CreateTransferResult] {
        try await createTransfersAt(events).results
    }

    /// `create_accounts`, with the LSN the batch was logged at (the state the reply reflects).
    package func createAccountsAt(_ events: [Account]) async throws(EngineError) -> (results: [CreateAccountResult], lsn: UInt64) {
        let (lsn, answered) = try await submit(.accounts(events))
        guard case .accounts(let results) = answered else {
            preconditionFailure("a create_accounts batch answered with other results")
        }
        return (results, lsn)
    }

    /// `create_transfers`, with the LSN the batch was logged at (the state the reply reflects).
    package func createTransfersAt(_ events: [Transfer]) async throws(EngineError) -> (results: [CreateTransferResult], lsn: UInt64) {
        let (lsn, answered) = try await submit(.transfers(events))
        guard case .transfers(let results) = answered else {
            preconditionFailure("a create_transfers batch answered with other results")
        }
        return (results, lsn)
    }

    /// `pulse`: expires due pending transfers now (logged like any batch).
    package func pulse() async throws(EngineError) {
        _ = try await submit(.pulse)
    }

    // MARK: Pulse scheduling

    /// `pulse`, logged only when a pending transfer is due by the timestamp the pulse
    /// gets (checked under the log's lock against the state, so no pulse that expires
    /// nothing is logged over and over); true when one was logged. In the sharded layout
    /// a batch logged just before but not yet applied may expire that transfer first.
    /// - Throws: what a write throws (`notPrimary` on a follower, `closed`, ...).
    package func pulseIfDue() async throws(EngineError) -> Bool {
        let sequencer = self.sequencer
        var due = true
        do throws(EngineError) {
            _ = try await sequence { (lsn, now) throws(EngineError) -> LoggedBatch in
                let timestamp = try sequencer.timestamp(count: 0, wallClock: now)
                guard let deadline = sequencer.expiries.deadline, deadline <= timestamp else {
                    due = false
                    throw EngineError(.batchRefused, "no pending transfer is due at \(timestamp)")
                }
                return LoggedBatch(lsn: lsn, timestamp: timestamp, events: .pulse)
            }
        } catch {
            if !due { return false }
            throw error
        }
        return true
    }

    /// The earliest pending deadline of the state, kept current after every batch.
    package var expiries: ExpiryWatch { sequencer.expiries }

    /// The clock batches are stamped with (deadlines are on it too).
    package var batchClock: any BatchClock { clock }

    /// Logs and applies the batch that `next` makes for the LSN it is about to get, under
    /// the timestamp it carries, and answers once it is durable. For input stamped
    /// upstream: deterministic workloads (the crash driver) and, later, shipped records
    /// (whose `next` refuses an LSN other than the record's own). `next` runs under the
    /// log's lock: keep it short.
    /// - Throws: what `next` throws, or `batchRefused` (nothing logged either way) when
    ///   the timestamp does not follow the last batch's or the state could not take the
    ///   batch.
    package func submit(
        stamped next: (_ lsn: UInt64) throws(EngineError) -> (timestamp: UInt64, events: BatchEvents)
    ) async throws(EngineError) -> (batch: LoggedBatch, results: BatchResults) {
        try await sequence { (lsn, _) throws(EngineError) -> LoggedBatch in
            let (timestamp, events) = try next(lsn)
            try Self.checkSize(events)
            guard try Self.follows(events, stampedAt: timestamp, sequencer: sequencer) else {
                throw EngineError(.batchRefused, "timestamp \(timestamp) of LSN \(lsn) does not follow the last batch")
            }
            return LoggedBatch(lsn: lsn, timestamp: timestamp, events: events)
        }
    }

    // MARK: Replication

    /// The node's role now. Read without the ledger's lock, which a primary holds while it
    /// applies a batch (milliseconds): the shipping path and the sync gate check the role
    /// for every batch and must not wait behind the apply of the next one.
    package var role: NodeRole { roleNow.value }

    /// The epoch of the newest record logged (a primary's own epoch once it logs).
    package var epoch: UInt64 { state.withLock { $0.epoch } }

    /// Calls `listener` with each new durable LSN (on the log's writer thread: keep it
    /// short; nil stops): a follower acknowledges durability without waiting for apply.
    package func onDurable(_ listener: (@Sendable (UInt64) -> Void)?) { writer.onDurable(listener) }

    /// Hands every log write's records to `shipper` before they reach the disk (nil stops).
    package func ship(to shipper: (any WALShipper)?) { writer.ship(to: shipper) }

    /// Keeps log segments from the LSN `oldestNeeded` returns when snapshots remove older
    /// ones (replicas catching up from the log); nil: no such need.
    package func retainLog(_ oldestNeeded: (@Sendable () -> UInt64)?) { snapshots.retainLog(oldestNeeded) }

    /// Returns once no snapshot is claimed or being written (tests, benchmarks: a snapshot
    /// due at a busy moment is skipped until the next trigger).
    package func snapshotsSettled() async { await snapshots.drain() }

    /// True when this ledger takes snapshots (a layout that can, and a trigger set).
    package var takesSnapshots: Bool { sequencer.takesSnapshots && snapshots.enabled }

    /// Sets sync replication's hold on answers (nil: answer after the local fsync).
    package func setGate(_ newGate: (any ReplicationGate)?) { gate.withLock { $0 = newGate } }

    /// Makes this node the primary of `epoch`, which must be above every epoch it logged.
    /// `persist` runs under the log's lock with the first LSN the new epoch will write
    /// (it records the epoch durably, before any record of it exists).
    package func promote(
        to epoch: UInt64, persist: (_ firstLSN: UInt64) throws(EngineError) -> Void
    ) throws(EngineError) {
        try state.withLock { (s) throws(EngineError) in
            if let failure = s.failure { throw failure }
            guard epoch > s.epoch else {
                throw EngineError(.batchRefused, "epoch \(epoch) is not above the current epoch \(s.epoch)")
            }
            // Client writes apply in place: every shipped batch must have applied first
            // (`drainShippedApplies` before this makes the wait here empty).
            if let applier = s.applier {
                applier.waitIdleBlocking()
                if let error = applier.failure {
                    let failure = EngineError(.diverged, "a shipped batch was logged but did not apply: \(error)",
                                              cause: .ledger(error))
                    s.failure = failure
                    throw failure
                }
            }
            try persist(s.lsn + 1)
            s.epoch = epoch
            s.role = .primary
            if let applier = s.applier {
                s.applier = nil
                Task { await applier.stop() }
            }
        }
    }

    /// Returns once every shipped batch logged so far has applied (or failed to).
    package func drainShippedApplies() async {
        await state.withLock { $0.applier }?.waitIdle()
    }

    /// Returns once the follower's applier has room for another shipped batch (at most
    /// `shippedApplyWindow` wait to be applied): the receive path's flow control.
    package func waitForShippedRoom() async {
        await state.withLock { $0.applier }?.waitForRoom(limit: Self.shippedApplyWindow)
    }

    /// Stops accepting client writes at once (lost lease, higher epoch seen, follower).
    /// Batches already logged still settle; new ones are refused with `notPrimary`.
    /// A node fenced by a failed log write stays fenced (until restarted).
    package func setRole(_ role: NodeRole) {
        state.withLock { s in
            if s.rollback != .fenced { s.role = role }
        }
    }

    /// A follower's write path: logs a record shipped by the primary (its LSN, epoch,
    /// timestamp and body bytes exactly as received) and hands it to the applier thread
    /// (layouts that apply in place) or queues it. Returns once it is logged, without
    /// waiting for the apply; `settleShipped` waits for the rest.
    /// - Throws: `notPrimary` on a primary; `diverged` when the LSN does not follow the
    ///   log's or the epoch goes backwards (nothing logged); `batchRefused` when the body
    ///   does not decode or the timestamp does not follow (nothing logged).
    package func appendShipped(
        lsn: UInt64, epoch: UInt64, timestamp: UInt64, operation rawOperation: UInt8, eventCount: UInt32,
        body: [UInt8]
    ) throws(EngineError) -> (LoggedBatch, Applying) {
        try body.withUnsafeBytes { b in
            Result { () throws(EngineError) in
                try appendShipped(lsn: lsn, epoch: epoch, timestamp: timestamp, operation: rawOperation,
                                  eventCount: eventCount, body: b, bodyChecksum: RecordHeader.bodyChecksum(b))
            }
        }.get()
    }

    /// `appendShipped` for a body read in place from the received frame, whose record
    /// checksum `bodyChecksum` the receive path has verified against `body`
    /// (`ReplicationMessage.Records` checks every record): the log takes the bytes with
    /// that checksum instead of computing it again (one copy, no second pass).
    package func appendShipped(
        lsn: UInt64, epoch: UInt64, timestamp: UInt64, operation rawOperation: UInt8, eventCount: UInt32,
        body: UnsafeRawBufferPointer, bodyChecksum: UInt32
    ) throws(EngineError) -> (LoggedBatch, Applying) {
        let events = try Self.decodeShipped(lsn: lsn, operation: rawOperation, eventCount: eventCount, body: body)
        try Self.checkSize(events)
        let sequencer = self.sequencer
        let (batch, applying, _, _) = try enqueue(shipped: true) { (s) throws(EngineError) -> Stamped in
            guard case .follower = s.role else {
                throw EngineError(.notPrimary, "this node is \(s.role.name): it takes no shipped records")
            }
            guard lsn == s.lsn + 1 else {
                throw EngineError(.diverged, "shipped LSN \(lsn) does not follow the log's \(s.lsn)")
            }
            guard epoch >= s.epoch else {
                throw EngineError(.diverged, "shipped LSN \(lsn) is of epoch \(epoch), below the log's \(s.epoch)")
            }
            // While batches wait for the applier, the state is behind the log: the stamp
            // follows the last batch logged. (The store's capacity is then not checked
            // here: the primary checked it on the same state.)
            let follows: Bool
            if let last = s.applier?.pendingTimestamp {
                follows = try Self.follows(events, stampedAt: timestamp) { (count, wallClock) throws(EngineError) in
                    let (next, overflow) = last.addingReportingOverflow(UInt64(max(count, 1)))
                    guard !overflow else { throw EngineError(.batchRefused, "timestamp beyond \(UInt64.max)") }
                    return max(wallClock, next)
                }
            } else {
                follows = try Self.follows(events, stampedAt: timestamp, sequencer: sequencer)
            }
            guard follows else {
                throw EngineError(.batchRefused, "timestamp \(timestamp) of shipped LSN \(lsn) does not follow the last batch")
            }
            return Stamped(batch: LoggedBatch(lsn: lsn, timestamp: timestamp, events: events),
                           body: RecordBody(received: body, checksum: bodyChecksum), epoch: epoch)
        }
        return (batch, applying)
    }

    /// Waits until a shipped batch has applied and is durable here (a batch that did not
    /// apply latches the ledger: diverged).
    package func settleShipped(_ batch: LoggedBatch, _ applying: Applying) async throws(EngineError) {
        // A follower whose log fails fences itself and never resumes: no LSN is handed
        // out twice, so no timeline is needed here.
        _ = try await settle(batch, applying, gate: nil, timeline: nil)
    }

    /// The events of a shipped record's body.
    private static func decodeShipped(
        lsn: UInt64, operation rawOperation: UInt8, eventCount: UInt32, body: UnsafeRawBufferPointer
    ) throws(EngineError) -> BatchEvents {
        let events: BatchEvents
        do throws(CodecError) {
            guard let operation = Operation(rawValue: rawOperation), operation.isMutating else {
                throw CodecError(.unknownOperation, "operation \(rawOperation) is not a logged batch")
            }
            events = try BatchEvents.decode(operation: operation, body: body)
        } catch {
            throw EngineError(.batchRefused, "shipped LSN \(lsn) does not decode: \(error)")
        }
        guard events.count == Int(eventCount) else {
            throw EngineError(.batchRefused, "shipped LSN \(lsn) holds \(events.count) events, its header says \(eventCount)")
        }
        return events
    }

    /// Runs `body` on the current state, then waits until that state is durable.
    package func read<T: Sendable>(_ body: (any LedgerReading) -> T) async throws(EngineError) -> T {
        try await readAt(body).value
    }

    /// `read`, with the LSN of the state `body` saw (the state the reply reflects).
    package func readAt<T: Sendable>(_ body: (any LedgerReading) -> T) async throws(EngineError) -> (value: T, lsn: UInt64) {
        // A fenced primary may hold batches it never acknowledged (and a failover cuts):
        // it answers no read; the primary or a follower does.
        while true {
            let (role, readGate) = state.withLock { ($0.role, gate.withLock { $0 }) }
            if case .fenced(let reason, let primary) = role {
                throw EngineError(.notPrimary, "this node is fenced (\(reason)): read from the primary or a follower",
                                  primaryAddress: primary)
            }
            let (value, lsn, timeline) = await sequencer.read(body)
            do throws(EngineError) {
                try await waitDurable(lsn, timeline: timeline)
            } catch {
                guard error.code == .logUnavailable else { throw error }
                // The state read holds batches the log failed to write: read again once
                // the state is rolled back to the durable point.
                try await rollbackSettled()
                continue
            }
            if let readGate { try await readGate.waitReplicated(lsn) }
            return (value, lsn)
        }
    }

    // MARK: Without a task (the server's event loops)

    /// A client write that is logged and applied (or queued for its turn), not yet settled.
    package struct EnqueuedWrite: Sendable {
        package let batch: LoggedBatch
        fileprivate let applying: Applying
        fileprivate let gate: (any ReplicationGate)?
        /// The log's timeline the batch was appended in.
        fileprivate let timeline: UInt64
    }

    /// The event loops' write path, first half: stamps `events` (one request, or several
    /// coalesced into one record) by the clock, logs and applies or queues them. Returns
    /// at once; `whenSettled` answers. Throws (nothing logged) as `createTransfers` does.
    /// - Parameter wireChecksum: for a plain `.accounts`/`.transfers` batch, the CRC32C of
    ///   the request body its events were copied from, verified when it was received: the
    ///   record's body checksum, taken instead of a second pass over the same bytes
    ///   (`RecordBody`). Ignored for other batches.
    package func enqueueWrite(_ events: BatchEvents, wireChecksum: UInt32? = nil) throws(EngineError) -> EnqueuedWrite {
        try Self.checkSize(events)
        let sequencer = self.sequencer
        // The body does not depend on the LSN or the timestamp: made (and checksummed)
        // before the lock, and for a plain batch taken from the events as received.
        let body = RecordBody(events, wireChecksum: wireChecksum)
        let now = clock.nanosecondsSinceEpoch()
        let (batch, applying, gate, timeline) = try enqueue { (s) throws(EngineError) -> Stamped in
            guard s.role == .primary else {
                throw EngineError(.notPrimary, "this node is \(s.role.name): it does not accept writes",
                                  primaryAddress: s.role.knownPrimary)
            }
            let batch = LoggedBatch(lsn: s.lsn + 1, timestamp: try Self.stamp(events, wallClock: now, sequencer: sequencer),
                                    events: events)
            return Stamped(batch: batch, body: body, epoch: s.epoch)
        }
        return EnqueuedWrite(batch: batch, applying: applying, gate: gate, timeline: timeline)
    }

    /// The event loops' write path, second half: `done` gets the results once the write
    /// has applied, is durable and has passed its gate, exactly as `createTransfers`
    /// would answer. A batch applied on the spot with no gate waits for the log with no
    /// task (`done` then runs on the log's writer thread, or here if already durable:
    /// it must only hand over); otherwise one task settles the whole write.
    package func whenSettled(_ write: EnqueuedWrite, _ done: @escaping @Sendable (Result<BatchResults, EngineError>) -> Void) {
        if write.gate == nil, case .applied(.success(let results)) = write.applying {
            writer.whenDurable(write.batch.lsn, timeline: write.timeline) { outcome in
                // A failed log latches through its health listener (`logHealth`).
                done(outcome.map { results }.mapError { Self.logError($0) })
            }
            return
        }
        Task {
            do throws(EngineError) {
                done(.success(try await self.settle(write.batch, write.applying, gate: write.gate,
                                                    timeline: write.timeline)))
            } catch {
                done(.failure(error))
            }
        }
    }

    /// The event loops' read path, first half: runs `body` on the state now, if the
    /// layout reads without suspending (the serial one); nil otherwise (use `readAt`).
    /// `body` returns the answer and its freshness (`Ledger.freshness`: the newest change
    /// timestamp it depends on). The LSN returned is the state the answer stands for:
    /// the applied one, or the durable one when the answer depends on nothing newer than
    /// the durable record's timestamp (and no gate asks for replication), so that
    /// `whenReadable(lsn)` lets it leave at once. A crash never takes back what it shows.
    package func readNow<T: Sendable>(
        _ body: (any LedgerReading) -> (value: T, freshness: UInt64)
    ) throws(EngineError) -> (value: T, lsn: UInt64, timeline: UInt64)? {
        var value: T?
        let at = try readNowLSN { r in
            let answer = body(r)
            value = answer.value
            return answer.freshness
        }
        guard let at, let value else { return nil }
        return (value, at.lsn, at.timeline)
    }

    /// `readNow`, not generic (the event loops' path: no type metadata built per read):
    /// `body` keeps its answer itself and returns its freshness; the answer stands for the
    /// state at the LSN returned (nil: `body` did not run, or its answer must not be used).
    /// `durable`: that state was durable when read, in that timeline, and no gate holds
    /// answers: `whenReadable` would answer at once, and the caller may skip it (most reads
    /// of a mixed load: no waiter, closures or log lock per read).
    package func readNowLSN(
        _ body: (any LedgerReading) -> UInt64
    ) throws(EngineError) -> (lsn: UInt64, timeline: UInt64, durable: Bool)? {
        // The role's mirror, not `state`: that lock is the write path's (held for each
        // batch's append and apply), and the event loops' reads queued behind it.
        if case .fenced(let reason, let primary) = roleNow.value {
            throw EngineError(.notPrimary, "this node is fenced (\(reason)): read from the primary or a follower",
                              primaryAddress: primary)
        }
        guard let read = sequencer.readNow(body) else { return nil }
        // Read after the state: the durable point only rises, so a record durable now
        // was durable for the state just read too.
        let durable = writer.durableState
        let current = read.timeline == durable.timeline
        // The log failed after the state was written and has not resumed: the state is
        // that timeline's durable prefix plus batches the rollback takes back.
        let endedJustNow = read.timeline + 1 == durable.timeline && durable.failed
        guard current || endedJustNow else { return nil }
        let gated = gate.withLock({ $0 }) != nil
        if current && (read.lsn <= durable.lsn || read.freshness > durable.timestamp || gated) {
            // Durable now exactly when `WALWriter.whenDurable(read.lsn)` would answer at once.
            return (read.lsn, read.timeline, !gated && read.lsn <= durable.lsn)
        }
        // Everything the answer shows was applied by batches at or below `durable.lsn`
        // (timestamps order the batches) and nothing it shows changed since: it is the
        // answer at the durable LSN, which the applied state has reached.
        if read.freshness <= durable.timestamp {
            assert(durable.lsn <= read.lsn, "the early answer stands for an older state than the one read")
            return (durable.lsn, durable.timeline, !gated)
        }
        // It shows a batch the rollback takes back: `readAt` waits for the rollback.
        return nil
    }

    /// The event loops' read path, second half: `done` is called once the state at `lsn`
    /// is durable (and replicated, under sync replication), as `readAt` waits. No task
    /// without a gate; `done` must only hand over.
    /// `timeline` is the one `readNow` returned. It fails with `logUnavailable` when the
    /// state read is rolled back: `readAt` reads again once the rollback is done.
    package func whenReadable(
        _ lsn: UInt64, timeline: UInt64, _ done: @escaping @Sendable (Result<Void, EngineError>) -> Void
    ) {
        guard let readGate = gate.withLock({ $0 }) else {
            writer.whenDurable(lsn, timeline: timeline) { outcome in
                done(outcome.mapError { Self.logError($0) })
            }
            return
        }
        Task {
            do throws(EngineError) {
                try await self.waitDurable(lsn, timeline: timeline)
                try await readGate.waitReplicated(lsn)
                done(.success(()))
            } catch {
                done(.failure(error))
            }
        }
    }

    /// Highest LSN applied in memory (below `loggedLSN` while a follower's applier has
    /// batches queued).
    package var appliedLSN: UInt64 {
        state.withLock { $0.applier }?.applied ?? writer.lastAssignedLSN
    }

    /// The LSN of the last applied batch and the state digest (for tests and replicas).
    package func status() async -> (lsn: UInt64, digest: StateDigest) {
        while true {
            let (digest, lsn, timeline) = await sequencer.read { $0.digest() }
            // A state a rollback is about to take back is not shown.
            if timeline == writer.timeline { return (lsn, digest) }
            try? await rollbackSettled()
            switch state.withLock({ $0.rollback }) {
            case .failed, .fenced: return (lsn, digest)
            case .none, .awaitingCut, .rebuilding, .rebuilt: await Task.yield()
            }
        }
    }

    /// How many shards the ledger has (1: the serial ledger).
    package var shardCount: Int { sequencer.shardCount }

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
        let applier = state.withLock { (s) -> ShippedApplier? in
            if s.failure == nil { s.failure = EngineError(.closed, "the ledger is closed") }
            defer { s.applier = nil }
            return s.applier
        }
        // Shipped batches already logged apply (a snapshot may be due), then the thread ends.
        await applier?.stop()
        await snapshots.drain()
        await writer.close()
    }

    /// A batch stamped by the clock: the write path of clients.
    private func submit(_ events: BatchEvents) async throws(EngineError) -> (lsn: UInt64, results: BatchResults) {
        try Self.checkSize(events)
        let sequencer = self.sequencer
        let (batch, results) = try await sequence { (lsn, now) throws(EngineError) -> LoggedBatch in
            LoggedBatch(lsn: lsn, timestamp: try Self.stamp(events, wallClock: now, sequencer: sequencer), events: events)
        }
        return (batch.lsn, results)
    }

    /// Whether a batch stamped upstream at `timestamp` (a shipped record, a deterministic
    /// workload) is exactly what stamping would give it now: a coalesced record carries its
    /// last request's timestamp, stamped from its first request's, which is the wall clock
    /// that must give it back. Changes nothing.
    /// - Throws: `batchRefused` when the state could not take the events, or the requests'
    ///   timestamps would not be positive.
    private static func follows(_ events: BatchEvents, stampedAt timestamp: UInt64, sequencer: any Sequencer)
        throws(EngineError) -> Bool
    {
        try follows(events, stampedAt: timestamp) { (count, wallClock) throws(EngineError) in
            try sequencer.timestamp(count: count, wallClock: wallClock)
        }
    }

    /// `follows` with `next` for the sequencer's `timestamp(count:wallClock:)`.
    private static func follows(
        _ events: BatchEvents, stampedAt timestamp: UInt64, next: (Int, UInt64) throws(EngineError) -> UInt64
    ) throws(EngineError) -> Bool {
        let (firstStamp, early) = timestamp.subtractingReportingOverflow(laterRequestsSpan(events))
        guard !early else { throw EngineError(.batchRefused, "timestamp \(timestamp) is below its requests' span") }
        return try stamp(events, wallClock: firstStamp, next: next) == timestamp
    }

    /// The timestamp of a batch logged now: the sequencer's for one request; for a
    /// coalesced record, the last request's when they are stamped one after the other
    /// with the same wall clock (the state must take all their events).
    private static func stamp(_ events: BatchEvents, wallClock: UInt64, sequencer: any Sequencer) throws(EngineError)
        -> UInt64
    {
        try stamp(events, wallClock: wallClock) { (count, wallClock) throws(EngineError) in
            try sequencer.timestamp(count: count, wallClock: wallClock)
        }
    }

    /// How far a record's timestamp is above its first request's: the requests after the
    /// first take one timestamp per event (at least one each); 0 for a single batch.
    private static func laterRequestsSpan(_ events: BatchEvents) -> UInt64 {
        switch events {
        case .accounts, .transfers, .pulse: return 0
        case .accountRequests, .transferRequests:
            return events.requestCounts.dropFirst().reduce(0) { $0 + UInt64(max($1, 1)) }
        }
    }

    /// `stamp` with `next` for the sequencer's `timestamp(count:wallClock:)`.
    private static func stamp(
        _ events: BatchEvents, wallClock: UInt64, next: (Int, UInt64) throws(EngineError) -> UInt64
    ) throws(EngineError) -> UInt64 {
        switch events {
        case .accounts, .transfers, .pulse:
            return try next(events.count, wallClock)
        case .accountRequests, .transferRequests:
            let counts = events.requestCounts
            guard let first = counts.first else { throw EngineError(.batchRefused, "a coalesced record with no request") }
            _ = try next(events.count, wallClock)
            var last = try next(first, wallClock)
            for c in counts.dropFirst() {
                let (sum, overflow) = last.addingReportingOverflow(UInt64(max(c, 1)))
                guard !overflow else { throw EngineError(.batchRefused, "timestamp beyond \(UInt64.max)") }
                last = sum
            }
            assert(events.checkedRequestTimestamps(last: last).first == last - UInt64(counts.dropFirst().reduce(0) { $0 + max($1, 1) }))
            return last
        }
    }

    private static func checkSize(_ events: BatchEvents) throws(EngineError) {
        guard events.count <= LedgerLimits.batchMax else {
            throw EngineError(.batchRefused, "\(events.count) events; at most \(LedgerLimits.batchMax) per batch")
        }
    }

    /// A batch stamped for the log: what `enqueue` appends and applies.
    private struct Stamped {
        let batch: LoggedBatch
        /// The body as logged: the batch's encoding (made before the lock), or a shipped
        /// record's bytes as received.
        let body: RecordBody
        /// The epoch the record is written in.
        let epoch: UInt64

        init(batch: LoggedBatch, body: RecordBody, epoch: UInt64) {
            self.batch = batch
            self.body = body
            self.epoch = epoch
        }

        /// A shipped record's bytes as received.
        init(batch: LoggedBatch, body: [UInt8], epoch: UInt64) {
            self.init(batch: batch, body: RecordBody(bytes: body), epoch: epoch)
        }
    }

    /// The client write path: `enqueue` on a primary, then `settle`.
    private func sequence(
        _ make: (_ lsn: UInt64, _ wallClock: UInt64) throws(EngineError) -> LoggedBatch
    ) async throws(EngineError) -> (batch: LoggedBatch, results: BatchResults) {
        let now = clock.nanosecondsSinceEpoch()
        let (batch, applying, gate, timeline) = try enqueue { (s) throws(EngineError) -> Stamped in
            guard s.role == .primary else {
                throw EngineError(.notPrimary, "this node is \(s.role.name): it does not accept writes",
                                  primaryAddress: s.role.knownPrimary)
            }
            let batch = try make(s.lsn + 1, now)
            return Stamped(batch: batch, body: RecordBody(batch.events), epoch: s.epoch)
        }
        let results = try await settle(batch, applying, gate: gate, timeline: timeline)
        return (batch, results)
    }

    /// Under the lock, `make` stamps the batch for the next LSN, the log takes it and the
    /// sequencer applies or queues it (a capture for a due snapshot follows). Returns at
    /// once: `settle` waits for the batch's turn and for durability. Any failure after the
    /// append latches: no later write is accepted.
    /// The gate in force when the batch was logged comes back with it: the batch is
    /// answered through that gate even if the node changes role meanwhile (a batch logged
    /// by a primary that fences itself before its answer must not be answered success).
    /// A follower's `shipped` batch, in a layout that applies in place, goes to the
    /// applier thread instead (which also takes the snapshot due after it).
    private func enqueue(
        shipped: Bool = false, _ make: (_ state: borrowing State) throws(EngineError) -> Stamped
    ) throws(EngineError) -> (LoggedBatch, Applying, (any ReplicationGate)?, timeline: UInt64) {
        let writer = self.writer
        let sequencer = self.sequencer
        let snapshots = self.snapshots
        var timeline: UInt64 = 0
        let (batch, applying, capture, gate) = try state.withLock {
            (s) throws(EngineError) -> (LoggedBatch, Applying, SnapshotCapture?, (any ReplicationGate)?) in
            if let failure = s.failure { throw failure }
            if shipped, let error = s.applier?.failure {
                let failure = EngineError(.diverged, "a shipped batch was logged but did not apply: \(error)",
                                          cause: .ledger(error))
                s.failure = failure
                throw failure
            }
            let stamped = try make(s)
            let batch = stamped.batch
            // The state machine refuses later timestamps: such a batch must not be logged.
            guard batch.timestamp <= LedgerLimits.timestampMax else {
                throw EngineError(.batchRefused, "timestamp \(batch.timestamp) is beyond \(LedgerLimits.timestampMax)")
            }
            assert(stamped.epoch >= s.epoch, "records are logged in non-decreasing epochs")
            let lsn: UInt64
            do throws(WALError) {
                (lsn, timeline) = try stamped.body.withBytes { b throws(WALError) in
                    try writer.appendTracked(operation: batch.events.operation.rawValue, timestamp: batch.timestamp,
                                             eventCount: UInt32(batch.events.count), body: b,
                                             bodyChecksum: stamped.body.checksum, epoch: stamped.epoch)
                }
            } catch {
                switch error.code {
                case .stopped, .noSpace, .io:
                    // The log failed (its health listener latches and rolls back): nothing
                    // was logged or applied.
                    throw EngineError.logUnavailable(error)
                case .closed:
                    throw EngineError(.closed, "the ledger is closed")
                default:
                    let failure = EngineError(.logFailed, "\(error)", cause: .log(error))
                    s.failure = failure
                    throw failure
                }
            }
            guard lsn == batch.lsn else {
                let failure = EngineError(.diverged, "the log assigned LSN \(lsn) after \(s.lsn)")
                s.failure = failure
                throw failure
            }
            s.lsn = lsn
            s.epoch = stamped.epoch
            snapshots.noteLogged(bytes: stamped.body.count)
            if shipped, sequencer.appliesInPlace {
                if s.applier == nil {
                    // The state covers `lsn - 1` (everything before was applied in place).
                    // Without a thread, apply in place as below: slower, as correct.
                    s.applier = try? ShippedApplier(sequencer: sequencer, lsn: lsn - 1,
                                                    snapshots: sequencer.takesSnapshots ? snapshots : nil)
                }
                if let applier = s.applier {
                    return (batch, applier.submit(batch), nil, nil)
                }
            }
            let applying = sequencer.apply(batch)
            if case .applied(.failure(let error)) = applying {
                let failure = EngineError(.diverged, "LSN \(lsn) was logged but did not apply: \(error)", cause: .ledger(error))
                s.failure = failure
                throw failure
            }
            let due = sequencer.takesSnapshots && snapshots.claim(lsn: lsn)
            return (batch, applying, due ? sequencer.snapshot() : nil, self.gate.withLock { $0 })
        }
        if let capture { snapshots.write(capture, lsn: batch.lsn, timeline: timeline) }
        return (batch, applying, gate, timeline)
    }

    /// Waits until an enqueued batch has applied, is durable here, and has passed `gate`
    /// (sync replication: the quorum; a replicated primary: still the primary, lease
    /// valid); returns its results. A failure to apply or to log latches.
    private func settle(_ batch: LoggedBatch, _ applying: Applying, gate: (any ReplicationGate)?, timeline: UInt64?)
        async throws(EngineError) -> BatchResults
    {
        let results: BatchResults
        do throws(LedgerError) {
            results = try await applying.results()
        } catch {
            let failure = EngineError(.diverged, "LSN \(batch.lsn) was logged but did not apply: \(error)",
                                      cause: .ledger(error))
            state.withLock { if $0.failure == nil { $0.failure = failure } }
            throw failure
        }
        try await waitDurable(batch.lsn, timeline: timeline)
        if let gate { try await gate.waitReplicated(batch.lsn) }
        return results
    }

    /// Waits until `lsn` (appended in `timeline`) is durable in the local log. A failed
    /// log latches through its health listener (`logHealth`), not here: a late waiter of
    /// an ended timeline must not latch a log that has resumed since.
    private func waitDurable(_ lsn: UInt64, timeline: UInt64?) async throws(EngineError) {
        do throws(WALError) {
            try await writer.waitDurable(lsn, timeline: timeline)
        } catch {
            throw Self.logError(error)
        }
    }

    /// The engine error for a record the log did not make durable.
    private static func logError(_ error: WALError) -> EngineError {
        switch error.code {
        case .noSpace, .io, .stopped: return .logUnavailable(error)
        case .closed: return EngineError(.closed, "the ledger closed before the batch was durable", cause: .log(error))
        default: return EngineError(.logFailed, "\(error)", cause: .log(error))
        }
    }
}
