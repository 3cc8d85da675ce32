import LedgerCore
import LedgerStorage

/// The change stream of a data directory (`kamino cdc`, docs/cdc.md): rebuilds the state at
/// a resume point with the recovery code a start runs (newest usable snapshot at or below
/// it, then the log), then applies the records after it one by one through the same serial
/// apply and hands out each record's committed events. Reads the directory only (no lock),
/// so it runs beside a live server.
package final class ChangeStream {
    /// Why the stream cannot go on.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        /// The kind of failure.
        package enum Code: Sendable, Equatable {
            /// The records after the resume point are gone (removed after a snapshot).
            case unavailable
            /// The state could not be rebuilt or a record not applied (`LedgerRecovery`).
            case recovery
            /// The resume point is beyond the end of the directory's history: it never held,
            /// or lost, records the consumer says it processed.
            case beyondEnd
        }
        package let code: Code
        package let message: String
        /// For `.unavailable`: the smallest resume point (`--from`) still accepted, nil when
        /// the directory holds none.
        package let earliestFrom: UInt64?

        package var description: String { message }
    }

    /// The directory read.
    package let directory: String
    /// Records up to this LSN are applied but not published (the consumer has them).
    package let from: UInt64
    /// The LSN the state covers: every record up to it is applied.
    package private(set) var appliedLSN: UInt64
    /// The last LSN of the valid log when the stream was opened (or of the snapshot it
    /// started from, if later): how far a stream that does not follow a server goes.
    package let endAtOpen: UInt64
    /// The snapshot the state started from, if any.
    package let snapshotLSN: UInt64?

    private let ledger: Ledger
    private let expiries = ExpiryLog()

    /// Opens the stream after LSN `from` (0: from the start of the log).
    /// - Throws: `.unavailable` when the log no longer reaches back to `from` and no
    ///   snapshot is at or below it; `.recovery` when the state cannot be rebuilt.
    package init(directory: String, from: UInt64) throws(Failure) {
        try Self.checkAvailable(directory: directory, from: from)
        let outcome: LedgerRecovery.Outcome
        do throws(LedgerRecovery.Failure) {
            outcome = try LedgerRecovery.recover(
                directory: directory, repair: false, through: from, snapshotAtOrBelow: from)
        } catch {
            throw Failure(code: .recovery, message: "cannot rebuild the state at LSN \(from): \(error)", earliestFrom: nil)
        }
        self.directory = directory
        self.from = from
        ledger = outcome.ledger
        appliedLSN = outcome.lsn
        snapshotLSN = outcome.snapshot?.lsn
        endAtOpen = max(outcome.report.lastLSN, outcome.lsn)
        assert(appliedLSN <= from, "the state is rebuilt no further than the resume point")
        // Every LSN a consumer was given is on disk (committed, hence durable); none is cut
        // later (only records beyond the durable or committed point are).
        guard from <= endAtOpen else {
            throw Failure(
                code: .beyondEnd,
                message: "cannot resume after LSN \(from): the directory's history ends at LSN \(endAtOpen); it never held, "
                    + "or lost, the records up to \(from) (another directory, or one restored from an older copy?)",
                earliestFrom: nil)
        }
        let log = expiries
        ledger.expiryObserver = { transfer, cutoff in log.entries.append((transfer, cutoff)) }
    }

    /// Applies the records `appliedLSN + 1 ... through` in LSN order and calls `emit` with
    /// each record's LSN and committed events (possibly none), for records after `from`
    /// only; `emit` returns false to stop after that record. Returns false if it stopped so.
    /// - Throws: `.recovery` when a record in the range is missing (removed after a
    ///   snapshot while the stream lagged) or does not apply.
    @discardableResult
    package func advance(through last: UInt64, emit: (UInt64, [ChangeEvent]) -> Bool) throws(Failure) -> Bool {
        guard last > appliedLSN else { return true }
        var stopped = false
        do throws(LedgerRecovery.Failure) {
            _ = try LedgerRecovery.replay(into: ledger, directory: directory, from: appliedLSN + 1, through: last) {
                record, batch, results in
                defer { expiries.entries.removeAll(keepingCapacity: true) }
                appliedLSN = record.lsn
                guard record.lsn > from else { return true }
                let events = ChangeEvent.events(
                    lsn: record.lsn, timestamp: record.timestamp, batch: batch, results: results,
                    expired: expiries.entries, ledger: ledger)
                stopped = !emit(record.lsn, events)
                return !stopped
            }
        } catch {
            throw Failure(code: .recovery, message: "after LSN \(appliedLSN): \(error)", earliestFrom: nil)
        }
        return !stopped
    }

    /// Refuses a resume point the directory can no longer rebuild: the state at `from` needs
    /// the newest snapshot at or below it (or the empty state) and every record after that
    /// snapshot. Reads snapshot headers only; recovery verifies the one it loads.
    static func checkAvailable(directory: String, from: UInt64) throws(Failure) {
        let firstLogLSN: UInt64?
        let snapshots: [UInt64]
        do throws(WALError) {
            firstLogLSN = try SegmentName.list(in: directory).first?.firstLSN
            let store = SnapshotStore(directory: directory)
            snapshots = try store.list().compactMap { s in (try? store.header(path: s.path)).map { _ in s.lsn } }
        } catch {
            throw Failure(code: .recovery, message: "cannot read \(directory): \(error)", earliestFrom: nil)
        }
        /// True when the state at `lsn` can be rebuilt from the snapshot `base` (0: none).
        func reachable(from base: UInt64) -> Bool {
            if let firstLogLSN { return firstLogLSN <= base + 1 }
            return (snapshots.first ?? 0) <= base  // no log: only the newest snapshot's state exists
        }
        let base = snapshots.first { $0 <= from } ?? 0
        guard !reachable(from: base) else { return }
        let earliest = snapshots.filter { $0 > from && reachable(from: $0) }.min()
        let gone = firstLogLSN.map { "the log starts at LSN \($0)" } ?? "the log holds no record"
        let snapshot = base == 0 ? "no snapshot is at or below LSN \(from)" : "the newest snapshot at or below it is LSN \(base)"
        let advice = earliest.map { "the first LSN still available is \($0 + 1) (resume with --from \($0) or later)" }
            ?? "no resume point is available"
        throw Failure(
            code: .unavailable,
            message: "cannot resume after LSN \(from): \(gone) and \(snapshot); \(advice); events in between are lost to this directory",
            earliestFrom: earliest)
    }
}

/// What the ledger's expiry observer saw while one record applied.
private final class ExpiryLog {
    var entries: [ChangeEvent.Expiry] = []
}
