import Synchronization
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage

/// A clock that goes backwards on every read: timestamps must still increase.
final class BackwardsClock: BatchClock {
    let next = Atomic<UInt64>(2_000_000_000_000)
    func nanosecondsSinceEpoch() -> UInt64 { next.subtract(1_000, ordering: .relaxed).newValue }
}

@Suite("DurableLedger: order, durability, snapshots")
struct DurableLedgerTests {
    func accounts(_ n: Int) -> [Account] {
        (1...n).map { Account(id: UInt128($0), ledger: 1, code: 1, flags: $0 % 2 == 0 ? .debitsMustNotExceedCredits : []) }
    }

    @Test("Concurrent batches share log writes, and a reopened ledger has exactly the same state")
    func concurrentThenReopen() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20)
        let created = try await ledger.createAccounts(accounts(100))
        #expect(created.allSatisfy { $0.status == .created })

        // 64 writers x 20 batches of 25 transfers: group commit puts several in one write.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<64 {
                group.addTask {
                    for round in 0..<20 {
                        let batch = (0..<25).map { k -> Transfer in
                            let id = UInt128(writer * 1_000_000 + round * 1_000 + k + 1)
                            let dr = UInt128((writer + k) % 50 * 2 + 1)  // odd accounts: no limit
                            let cr = UInt128((writer + round + k) % 100 + 1)
                            return Transfer(id: id, debitAccountId: dr, creditAccountId: cr == dr ? dr + 1 : cr,
                                            amount: 10, ledger: 1, code: 1)
                        }
                        let results = try await ledger.createTransfers(batch)
                        #expect(results.count == 25)
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = ledger.logStats
        #expect(stats.appends == 1 + 64 * 20)
        #expect(stats.writes < stats.appends, "group commit: \(stats.writes) writes for \(stats.appends) appends")
        let before = await ledger.status()
        let transfers = try await ledger.read { $0.transferCount }
        #expect(transfers > 0)
        await ledger.close()

        let reopened = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20)
        #expect(await reopened.status().lsn == before.lsn)
        #expect(await reopened.status().digest == before.digest)
        #expect(try await reopened.read { $0.transferCount } == transfers)
        await reopened.close()
    }

    @Test("Snapshots are written every N LSNs and used on restart")
    func snapshots() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20, snapshotEvery: 10)
        _ = try await ledger.createAccounts(accounts(10))
        for round in 0..<35 {
            _ = try await ledger.createTransfers([
                Transfer(id: UInt128(round + 1), debitAccountId: 1, creditAccountId: 3, amount: 5, ledger: 1, code: 1),
            ])
        }
        let before = await ledger.status()
        await ledger.close()
        let recovered = try LedgerRecovery.recover(directory: dir.path, repair: false)
        #expect(recovered.snapshot != nil)
        #expect(recovered.ledger.digest() == before.digest)
        #expect(recovered.replayedRecords < 36)
    }

    @Test("Timestamps strictly increase even when the clock goes backwards")
    func monotonicTimestamps() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20, clock: BackwardsClock())
        var last: UInt64 = 0
        for batch in 0..<20 {
            let results = try await ledger.createAccounts([
                Account(id: UInt128(2 * batch + 1), ledger: 1, code: 1), Account(id: UInt128(2 * batch + 2), ledger: 1, code: 1),
            ])
            for r in results {
                #expect(r.timestamp > last)
                last = r.timestamp
            }
        }
        await ledger.close()
    }

    @Test("A refused batch changes nothing, and a closed ledger refuses writes")
    func refusals() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20)
        _ = try await ledger.createAccounts(accounts(2))
        let before = await ledger.status()
        let tooMany = (0..<(LedgerLimits.batchMax + 1)).map { Transfer(id: UInt128($0 + 1)) }
        await #expect(throws: EngineError.self) { _ = try await ledger.createTransfers(tooMany) }
        let after = await ledger.status()
        #expect(after.lsn == before.lsn && after.digest == before.digest)
        await ledger.close()
        await #expect(throws: EngineError.self) { _ = try await ledger.createAccounts(accounts(1)) }
    }
}
