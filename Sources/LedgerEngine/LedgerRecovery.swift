package import LedgerCore
package import LedgerStorage

/// Brings a ledger back from a data directory: the newest valid snapshot, then every
/// logged batch after it, applied in LSN order. The same function serves start-up,
/// `kamino wal replay` and tests, so all of them reach the same state.
package enum LedgerRecovery {
    /// What recovery found and rebuilt.
    package struct Outcome {
        package let ledger: Ledger
        /// The LSN the state covers (0 for an empty directory).
        package let lsn: UInt64
        package let report: RecoveryReport
        /// The snapshot the state started from, if any.
        package let snapshot: SnapshotInfo?
        /// Snapshots skipped because their checksums failed.
        package let invalidSnapshots: [String]
        package let replayedRecords: Int
        package let replayedEvents: Int
        /// What `expectedTransfers` set aside before the replay (nil: nothing asked).
        package let capacity: StartupCapacity?
    }

    /// Why the state could not be rebuilt: where (`code`) and, typed, the error underneath.
    package struct Failure: Error, Sendable, CustomStringConvertible, ThreadStartFailure {
        /// The kind of failure.
        package enum Code: Sendable { case log, snapshot, record, thread }
        /// The error a failing layer threw.
        package enum Cause: Sendable {
            case log(WALError)
            case ledger(LedgerError)
            case codec(CodecError)
            case snapshotFile(path: String, reason: String)
        }
        package let code: Code
        package let message: String
        package let cause: Cause?

        package init(code: Code, message: String, cause: Cause? = nil) {
            self.code = code
            self.message = message
            self.cause = cause
        }

        package var description: String { message }

        package static func threadNotStarted(errno: Int32) -> Failure {
            Failure(code: .thread, message: "cannot start the recovery thread (errno \(errno))",
                    cause: .log(WALError.threadNotStarted(errno: errno)))
        }

        /// A failure of the log (reading, validating).
        static func log(_ error: WALError) -> Failure { Failure(code: .log, message: "\(error)", cause: .log(error)) }

        /// A logged record that does not apply; `error` is what the state machine threw.
        static func record(_ lsn: UInt64, _ error: any Error) -> Failure {
            let cause: Cause? = switch error {
            case let e as LedgerError: .ledger(e)
            case let e as CodecError: .codec(e)
            default: nil
            }
            return Failure(code: .record, message: "LSN \(lsn) does not apply: \(error)", cause: cause)
        }
    }

    /// Recovers the state in `directory`.
    /// - Parameters:
    ///   - repair: cut a torn tail off the log (start-up). Without it nothing is changed
    ///     on disk (inspection, `kamino wal replay`).
    ///   - allowDamaged: accept (and cut) corruption before valid records.
    ///   - through: replay no further than this LSN (a live log's durable point, when a
    ///     failed write rolls the state back: `DurableLedger`).
    ///   - checked: what the directory check of the log's open found (start-up): its usable
    ///     snapshot is loaded without verifying its checksum again. nil: find and verify it.
    ///   - snapshotAtOrBelow: start from the newest valid snapshot at or below this LSN
    ///     (the change stream starts at or below its resume point); newer ones are not read.
    ///   - expectedTransfers: once the snapshot is loaded and before the replay, set aside
    ///     and fault in the memory this many transfers in all need (`StartupCapacity`;
    ///     0: none), so the replay and the run after it fill memory already there.
    package static func recover(
        directory: String, repair: Bool, allowDamaged: Bool = false,
        segmentSize: Int = 64 << 20, through: UInt64 = .max, checked: DirectoryCheck.Verdict? = nil,
        snapshotAtOrBelow: UInt64 = .max, expectedTransfers: Int = 0
    ) throws(Failure) -> Outcome {
        let base = try prepare(directory: directory, repair: repair, allowDamaged: allowDamaged, segmentSize: segmentSize,
                               through: through, checked: checked, snapshotAtOrBelow: snapshotAtOrBelow)
        let ledger = base.ledger
        let capacity = expectedTransfers > 0 ? StartupCapacity.reserve(ledger, transfers: expectedTransfers) : nil
        var events = 0
        let (lastLSN, records) = try replay(
            into: ledger, directory: directory, from: base.start, through: min(base.report.lastLSN, through)
        ) { _, batch, _ in
            events += batch.count
            return true
        }
        return Outcome(
            ledger: ledger, lsn: lastLSN, report: base.report, snapshot: base.snapshot, invalidSnapshots: base.invalid,
            replayedRecords: records, replayedEvents: events, capacity: capacity)
    }

    /// Applies the logged records `from...through` to `ledger`, which holds the state of
    /// LSN `from - 1`, in LSN order through the serial apply of recovery
    /// (`Ledger.applyLoggedBatch`), and hands each record, its events and their results to
    /// `each` right after it applied; `each` returns false to stop there. Changes nothing on
    /// disk. A record missing from the log in that range is a failure. Returns the last LSN
    /// applied (`from - 1` for none) and how many records were applied.
    package static func replay(
        into ledger: Ledger, directory: String, from: UInt64, through: UInt64,
        each: (LogRecord, BatchEvents, BatchResults) -> Bool
    ) throws(Failure) -> (lastLSN: UInt64, records: Int) {
        var replay = try Replay(directory: directory, from: from, through: through)
        while let (record, operation) = try replay.next() {
            let applied: (events: BatchEvents, results: BatchResults)
            do {
                applied = try record.body.withUnsafeBytes {
                    try ledger.applyLoggedBatch(operation: operation, timestamp: record.timestamp, body: $0)
                }
            } catch {
                throw Failure.record(record.lsn, error)
            }
            guard each(record, applied.events, applied.results) else { break }
        }
        return (replay.lastLSN, replay.records)
    }

    /// What recovery of a sharded ledger found and rebuilt.
    package struct ShardedOutcome {
        package let engine: ShardedEngine
        package let lsn: UInt64
        package let snapshot: SnapshotInfo?
        package let invalidSnapshots: [String]
        package let replayedRecords: Int
        package let replayedEvents: Int
    }

    /// Recovers the state in `directory` into a ledger sharded `shardCount` ways: the
    /// snapshot (serial layout) is copied into shards, then the log after it is replayed
    /// through the shard actors, no further than `through`. Changes nothing on disk.
    package static func recoverSharded(
        directory: String, shardCount: Int, allowDamaged: Bool = false, through: UInt64 = .max,
        checked: DirectoryCheck.Verdict? = nil
    ) async throws(Failure) -> ShardedOutcome {
        let base = try prepare(directory: directory, repair: false, allowDamaged: allowDamaged, segmentSize: 64 << 20,
                               through: through, checked: checked, snapshotAtOrBelow: .max)
        let sharded: ShardedLedger
        do throws(LedgerError) {
            sharded = try ShardedLedger(copying: base.ledger, shardCount: shardCount)
        } catch {
            throw Failure(code: .snapshot, message: "the state does not fit \(shardCount) shards: \(error)", cause: .ledger(error))
        }
        let engine = ShardedEngine(ledger: sharded)
        var replay = try Replay(directory: directory, from: base.start, through: min(base.report.lastLSN, through))
        var events = 0
        while let (record, operation) = try replay.next() {
            do {
                events += try await engine.applyLogged(operation: operation, timestamp: record.timestamp, body: record.body)
            } catch {
                throw Failure.record(record.lsn, error)
            }
        }
        return ShardedOutcome(
            engine: engine, lsn: replay.lastLSN, snapshot: base.snapshot, invalidSnapshots: base.invalid,
            replayedRecords: replay.records, replayedEvents: events)
    }

    /// The logged batches after the snapshot, in LSN order, each with its operation: the one
    /// replay loop of the serial and the sharded recovery (they differ only in how they apply).
    private struct Replay {
        private var iterator: WALRecordIterator?
        /// Records handed out so far, and the LSN of the last (`from - 1` before the first).
        private(set) var records = 0
        private(set) var lastLSN: UInt64

        init(directory: String, from first: UInt64, through last: UInt64) throws(Failure) {
            precondition(first >= 1, "LSNs start at 1")
            lastLSN = first - 1
            guard last >= first else { return }
            do throws(WALError) {
                iterator = try WALReader(directory: directory).records(from: first, through: last)
            } catch {
                throw Failure.log(error)
            }
        }

        mutating func next() throws(Failure) -> (LogRecord, Operation)? {
            let record: LogRecord?
            do throws(WALError) { record = try iterator?.next() } catch { throw Failure.log(error) }
            guard let record else { return nil }
            let operation = try LedgerRecovery.operation(of: record)
            assert(record.lsn == lastLSN + 1, "the reader hands out consecutive LSNs")
            records += 1
            lastLSN = record.lsn
            return (record, operation)
        }
    }

    private static func operation(of record: LogRecord) throws(Failure) -> Operation {
        guard let operation = Operation(rawValue: record.operation) else {
            throw Failure(code: .record, message: "LSN \(record.lsn): unknown operation \(record.operation)")
        }
        return operation
    }

    /// The log's report, the newest valid snapshot loaded into a ledger, and the first
    /// LSN to replay after it.
    private static func prepare(
        directory: String, repair: Bool, allowDamaged: Bool, segmentSize: Int, through: UInt64,
        checked: DirectoryCheck.Verdict?, snapshotAtOrBelow: UInt64
    ) throws(Failure)
        -> (report: RecoveryReport, ledger: Ledger, snapshot: SnapshotInfo?, invalid: [String], start: UInt64)
    {
        precondition(checked == nil || snapshotAtOrBelow == .max, "a checked start loads the snapshot its check chose")
        let report: RecoveryReport
        do throws(WALError) {
            report = try WALRecovery.recover(
                directory: directory,
                mode: repair ? .repair(preallocation: .fallocate, segmentSize: segmentSize) : .readOnly,
                allowDamaged: allowDamaged)
        } catch {
            throw Failure.log(error)
        }

        var invalid: [String] = []
        let store = SnapshotStore(directory: directory)
        let info: SnapshotInfo?
        if let checked {
            invalid = checked.skippedSnapshots.map { "\($0.path): \($0.problem ?? "")" }
            if let usable = checked.snapshot {
                do throws(WALError) {
                    info = try store.header(path: usable.path)
                } catch {
                    throw Failure(code: .snapshot, message: "snapshot \(usable.path) changed after its check: \(error)",
                                  cause: .snapshotFile(path: usable.path, reason: error.message))
                }
            } else {
                info = nil
            }
        } else {
            info = store.newestValid(atOrBelow: snapshotAtOrBelow) { path, error in invalid.append("\(path): \(error)") }
        }
        let ledger: Ledger
        if let info {
            let reader: SnapshotFileReader
            do throws(SnapshotFileReader.Failure) {
                reader = try SnapshotFileReader(info: info)
            } catch {
                throw Failure(code: .snapshot, message: "\(error)",
                              cause: .snapshotFile(path: error.path, reason: error.reason))
            }
            do {
                var source = reader
                ledger = try Ledger(snapshot: &source, memoryProvisioner: MemoryProvisioner.shared)
            } catch {
                let cause: Failure.Cause? = switch error {
                case let e as SnapshotFileReader.Failure: .snapshotFile(path: e.path, reason: e.reason)
                case let e as LedgerError: .ledger(e)
                case let e as CodecError: .codec(e)
                default: nil
                }
                throw Failure(code: .snapshot, message: "snapshot \(info.path) is checksummed but does not decode: \(error)",
                              cause: cause)
            }
        } else {
            ledger = Ledger(memoryProvisioner: MemoryProvisioner.shared)
        }
        // Recovery runs at normal priority; a follower's applier, which would otherwise make
        // the first request of an empty ledger, runs at a lower one.
        MemoryProvisioner.shared.start()

        let start = (info?.lsn ?? 0) + 1
        // Snapshots are written only once their LSN is durable, so none is beyond it.
        guard start - 1 <= through else {
            throw Failure(code: .snapshot, message: "the newest snapshot covers LSN \(start - 1), beyond LSN \(through)")
        }
        guard report.lastLSN < start || report.firstLSN <= start else {
            throw Failure(code: .log, message: "the log starts at LSN \(report.firstLSN) but the newest snapshot covers only up to \(start - 1)")
        }
        return (report, ledger, info, invalid, start)
    }
}
