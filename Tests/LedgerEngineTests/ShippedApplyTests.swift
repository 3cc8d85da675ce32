import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage

/// A follower's write path: shipped records are logged at once and applied on the
/// ledger's applier thread, in LSN order, off the receive path.
@Suite("DurableLedger: shipped records applied off the receive path")
struct ShippedApplyTests {
    /// A primary's log: 8 accounts, then `batches` batches of transfers and a pulse; returns
    /// its records and final digest.
    func primaryLog(batches: Int) async throws -> (records: [LogRecord], digest: StateDigest) {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let primary = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20)
        _ = try await primary.createAccounts((1...8).map { Account(id: UInt128($0), ledger: 1, code: 1) })
        for b in 0..<batches {
            _ = try await primary.createTransfers((0..<50).map { k in
                // Some ids repeat across batches: `exists` results apply too.
                Transfer(id: UInt128(b * 40 + k + 1), debitAccountId: UInt128(k % 8 + 1),
                         creditAccountId: UInt128((k + 3) % 8 + 1), amount: UInt128(k + 1), ledger: 1, code: 1)
            })
        }
        // Coalesced records (several requests in one record, stamped by the last one).
        for c in 0..<3 {
            let requests = (0..<(c + 2)).map { r in
                (0..<(r + 1)).map { k in
                    Transfer(id: UInt128(1_000_000 + c * 100 + r * 10 + k), debitAccountId: 1, creditAccountId: 2,
                             amount: 1, ledger: 1, code: 1)
                }
            }
            let write = try primary.enqueueWrite(.transferRequests(requests))
            let results = await withCheckedContinuation { (done: CheckedContinuation<Result<BatchResults, EngineError>, Never>) in
                primary.whenSettled(write) { done.resume(returning: $0) }
            }
            _ = try results.get()
        }
        try await primary.pulse()
        let digest = await primary.status().digest
        await primary.close()
        var records: [LogRecord] = []
        var iterator = try WALReader(directory: dir.path).records(from: 1)
        while let record = try iterator.next() { records.append(record) }
        return (records, digest)
    }

    func ship(_ record: LogRecord, to ledger: DurableLedger, timestamp: UInt64? = nil) throws
        -> (LoggedBatch, Applying)
    {
        try ledger.appendShipped(lsn: record.lsn, epoch: record.epoch, timestamp: timestamp ?? record.timestamp,
                                 operation: record.operation, eventCount: record.eventCount, body: record.body)
    }

    @Test("Records logged ahead of their apply reach the primary's digest, snapshots cover applied state, promote drains")
    func followerReachesDigest() async throws {
        let (records, digest) = try await primaryLog(batches: 30)
        #expect(records.count == 35)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let follower = try await DurableLedger.open(
            directory: dir.path, segmentSize: 1 << 20, snapshotEvery: 5, role: .follower(primary: nil))
        var shipped: [(LoggedBatch, Applying)] = []
        for record in records.dropLast() {
            await follower.waitForShippedRoom()
            shipped.append(try ship(record, to: follower))
        }
        #expect(follower.loggedLSN == UInt64(records.count - 1))
        #expect(follower.appliedLSN <= follower.loggedLSN)
        // A timestamp that does not follow the last logged batch is refused, nothing logged,
        // whether or not the batches before it have applied yet.
        let last = records[records.count - 1]
        #expect(throws: EngineError.self) { _ = try ship(last, to: follower, timestamp: records[records.count - 2].timestamp) }
        #expect(follower.loggedLSN == UInt64(records.count - 1))
        shipped.append(try ship(last, to: follower))
        for (batch, applying) in shipped { try await follower.settleShipped(batch, applying) }
        #expect(follower.appliedLSN == follower.loggedLSN)
        #expect(await follower.status().digest == digest)
        #expect(await follower.status().lsn == UInt64(records.count))

        // Promotion: every shipped batch has applied; client writes apply in place after.
        try follower.promote(to: 2) { _ in }
        let more = try await follower.createAccounts([Account(id: 100, ledger: 1, code: 1)])
        #expect(more.first?.status == .created)
        let final = await follower.status()
        await follower.close()

        // The snapshots the applier thread took (LSNs 5, 10, ...) hold the state right after
        // their batch: recovery from the newest one plus the log gives the same state.
        let recovered = try LedgerRecovery.recover(directory: dir.path, repair: false)
        let snapshotLSN = try #require(recovered.snapshot?.lsn)
        #expect(snapshotLSN % 5 == 0 && snapshotLSN > 0)
        #expect(recovered.ledger.digest() == final.digest)
        #expect(recovered.lsn == final.lsn)
    }

    @Test("Closing a follower applies what was logged, and a reopened follower holds the same state")
    func closeAppliesQueued() async throws {
        let (records, digest) = try await primaryLog(batches: 12)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let follower = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20, role: .follower(primary: nil))
        for record in records {
            await follower.waitForShippedRoom()
            _ = try ship(record, to: follower)
        }
        await follower.drainShippedApplies()
        #expect(await follower.status().digest == digest)
        await follower.close()
        let reopened = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20, role: .follower(primary: nil))
        #expect(await reopened.status().digest == digest)
        #expect(reopened.appliedLSN == UInt64(records.count))
        await reopened.close()
    }
}
