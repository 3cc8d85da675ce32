import KaminoTestSupport
import ServiceLifecycleTestKit
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage

/// The seam between `DurableLedger` (order, log, durability, failure latch) and its
/// sequencers (serial, sharded), the typed errors that cross it, and the ledger as a
/// service.
@Suite("Sequencer seam, typed errors, lifecycle")
struct SequencerSeamTests {
    static func open(_ dir: String, shards: Int) async throws(EngineError) -> DurableLedger {
        shards == 1
            ? try await DurableLedger.open(directory: dir, segmentSize: 1 << 20)
            : try await DurableLedger.openSharded(directory: dir, shards: shards, segmentSize: 1 << 20)
    }

    static let accounts = (1...8).map {
        Account(id: UInt128($0), ledger: 1, code: 1, flags: $0 % 2 == 0 ? .debitsMustNotExceedCredits : [])
    }

    static func transfers(_ batch: Int) -> [Transfer] {
        (0..<20).map { k in
            let dr = UInt128(k % 8 + 1)
            let cr = UInt128((k + batch) % 7 + 1)
            return Transfer(id: UInt128(batch * 100 + k + 1), debitAccountId: dr, creditAccountId: cr == dr ? dr % 8 + 1 : cr,
                            amount: UInt128(1 + k), ledger: 1, code: 1, flags: k % 5 == 0 ? .pending : [])
        }
    }

    @Test("Upstream-stamped batches: applied under their own timestamp and LSN, on every layout",
          arguments: [1, 2, 3])
    func stampedBatches(shards: Int) async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await Self.open(dir.path, shards: shards)
        #expect(ledger.shardCount == shards)
        let stamp = { (lsn: UInt64) in 1_000_000_000 + lsn * 1_000 }
        let (first, results) = try await ledger.submit { lsn in (stamp(lsn), .accounts(Self.accounts)) }
        #expect(first.lsn == 1 && first.timestamp == stamp(1))
        guard case .accounts(let created) = results else {
            Issue.record("create_accounts answered \(results)")
            return
        }
        #expect(created.map(\.status) == Array(repeating: .created, count: 8))
        for batch in 0..<5 {
            let (logged, _) = try await ledger.submit { lsn in (stamp(lsn), .transfers(Self.transfers(batch))) }
            #expect(logged.lsn == UInt64(batch + 2))
        }
        let before = await ledger.status()
        // A timestamp that does not follow the last batch is refused before it is logged,
        // and the ledger carries on.
        await #expect(throws: EngineError.self) {
            _ = try await ledger.submit { _ in (stamp(1), .transfers(Self.transfers(9))) }
        }
        do {
            _ = try await ledger.submit { _ in (LedgerLimits.timestampMax + 1, .pulse) }
            Issue.record("a timestamp beyond the limit was accepted")
        } catch {
            #expect(error.code == .batchRefused)
        }
        do {
            _ = try await ledger.submit { _ in (stamp(1), .pulse) }
            Issue.record("a stale timestamp was accepted")
        } catch {
            #expect(error.code == .batchRefused && error.cause == nil)
        }
        // A source that refuses the LSN it is offered (a follower's record for another
        // LSN) logs nothing.
        do {
            _ = try await ledger.submit { lsn throws(EngineError) in
                throw EngineError(.batchRefused, "record for LSN 99 offered LSN \(lsn)")
            }
            Issue.record("a refused batch was submitted")
        } catch {
            #expect(error.code == .batchRefused)
        }
        let after = await ledger.status()
        #expect(after.lsn == before.lsn && after.digest == before.digest)
        let created1 = try await ledger.read { $0.lookupAccounts([1]) }
        #expect(created1.first?.timestamp == stamp(1) - 7)
        await ledger.close()

        // Every layout reaches the same state from the same log.
        let serial = try await Self.open(dir.path, shards: 1)
        let replayed = await serial.status()
        #expect(replayed.lsn == before.lsn && replayed.digest == before.digest)
        await serial.close()
    }

    @Test("A recovery failure reaches the caller typed: EngineError -> LedgerRecovery.Failure -> CodecError")
    func recoveryFailureStaysTyped() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (writer, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 1 << 20))
        // A create_accounts record whose body is not a whole number of accounts.
        let lsn = try writer.append(operation: Operation.createAccounts.rawValue, timestamp: 1_000, eventCount: 1,
                                    body: [1, 2, 3])
        try await writer.waitDurable(lsn)
        await writer.close()
        for shards in [1, 2] {
            do {
                let ledger = try await Self.open(dir.path, shards: shards)
                await ledger.close()
                Issue.record("a log whose record does not decode was opened (\(shards) shards)")
            } catch {
                #expect(error.code == .recoveryFailed)
                guard case .recovery(let failure) = error.cause else {
                    Issue.record("cause \(String(describing: error.cause))")
                    continue
                }
                #expect(failure.code == .record)
                guard case .codec(let codec) = failure.cause else {
                    Issue.record("recovery cause \(String(describing: failure.cause))")
                    continue
                }
                #expect(codec.code == .badLength)
            }
        }
    }

    @Test("A second open of a data directory is refused with the log's typed error")
    func lockedDirectoryIsTyped() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await Self.open(dir.path, shards: 1)
        do {
            let second = try await Self.open(dir.path, shards: 2)
            await second.close()
            Issue.record("a second ledger opened a locked directory")
        } catch {
            guard case .log(let wal) = error.cause else {
                Issue.record("cause \(String(describing: error.cause))")
                return
            }
            #expect(error.code == .recoveryFailed && wal.code == .locked)
        }
        await ledger.close()
        // Closed: the lock is released.
        let again = try await Self.open(dir.path, shards: 1)
        await again.close()
    }

    @Test("As a service, the ledger runs until graceful shutdown, then closes and releases its directory")
    func serviceClosesOnGracefulShutdown() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await Self.open(dir.path, shards: 1)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await ledger.run() }
                #expect(try await ledger.createAccounts(Self.accounts).allSatisfy { $0.status == .created })
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        do {
            _ = try await ledger.createAccounts([Account(id: 99, ledger: 1, code: 1)])
            Issue.record("a write was accepted after shutdown")
        } catch {
            #expect(error.code == .closed)
        }
        let reopened = try await Self.open(dir.path, shards: 1)
        #expect(try await reopened.read { $0.accountCount } == 8)
        await reopened.close()
    }
}
