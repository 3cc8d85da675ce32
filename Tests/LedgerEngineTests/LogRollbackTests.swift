import Glibc
import KaminoTestSupport
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage

/// True when this process may mount a tmpfs (root in a permissive sandbox).
private func mayMountTmpfs() -> Bool {
    let probe = TemporaryDirectory()
    defer { probe.remove() }
    guard mount("tmpfs", probe.path, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount2(probe.path, Int32(MNT_DETACH))
    return true
}

/// `DurableLedger` on a full tmpfs (small segments, so the disk fills in a few hundred
/// batches): the batches the log failed on are rolled back, a read of durable state
/// answers at once, the state equals what the directory rebuilds to, writes are refused
/// with `logUnavailable` until space is back and then resume, and a reopen has exactly
/// the acknowledged batches.
@Suite("DurableLedger: a failed log write rolls the state back", .serialized)
struct LogRollbackTests {
    /// Serial with and without snapshots (the rebuild starts from the newest one), and sharded.
    @Test(.enabled(if: mayMountTmpfs(), "needs mount -t tmpfs (root)"), arguments: [(1, 0), (1, 7), (2, 0)] as [(Int, UInt64)])
    func fullDiskRollsBackAndResumes(shards: Int, snapshotEvery: UInt64) async throws {
        let mountPoint = TemporaryDirectory()
        defer { mountPoint.remove() }
        try #require(mount("tmpfs", mountPoint.path, "tmpfs", 0, snapshotEvery > 0 ? "size=640k" : "size=320k") == 0)
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let dir = mountPoint.path + "/data"
        func open() async throws -> DurableLedger {
            shards == 1 ? try await DurableLedger.open(directory: dir, segmentSize: 128 << 10, snapshotEvery: snapshotEvery)
                : try await DurableLedger.openSharded(directory: dir, shards: shards, segmentSize: 128 << 10)
        }
        let ledger = try await open()
        _ = try await ledger.createAccounts([1, 2, 3].map { Account(id: $0, ledger: 1, code: 1) })
        _ = try await ledger.createTransfers([Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)])

        // Four writes in flight at a time until the log fails.
        var acknowledged: [UInt128] = []
        var refused: [UInt128] = []
        var next: UInt128 = 1_000
        func batch() -> [Transfer] {
            defer { next += 50 }
            return (0..<50).map { Transfer(id: next + UInt128($0), debitAccountId: 2, creditAccountId: 3, amount: 1, ledger: 1, code: 1) }
        }
        while refused.isEmpty && next < 1_000_000 {
            var writes: [DurableLedger.EnqueuedWrite] = []
            for _ in 0..<4 {
                do throws(EngineError) { writes.append(try ledger.enqueueWrite(.transfers(batch()))) } catch {
                    #expect(error.code == .logUnavailable, "\(error)")
                }
            }
            for write in writes {
                let ids = write.batch.events.transferIds
                do {
                    _ = try await withCheckedThrowingContinuation { continuation in
                        ledger.whenSettled(write) { continuation.resume(with: $0) }
                    }
                    acknowledged += ids
                } catch let error as EngineError {
                    #expect(error.code == .logUnavailable, "\(error)")
                    #expect(!error.message.contains("/"), "a path in \(error.message)")
                    refused += ids
                }
            }
        }
        try #require(!refused.isEmpty, "the log never failed")
        #expect(!ledger.acceptsWrites)

        // A read of durable state answers at once, at a durable LSN (the serial layout reads in place).
        if shards == 1 {
            let old = try #require(try ledger.readNow { r in
                let found = r.lookupTransfers([10])
                return (found, r.freshness(ofTransfers: found))
            }, "a durable transfer was not answered at once")
            #expect(old.value.map(\.id) == [10] && old.lsn <= ledger.durableLSN)
        }
        // A read of what the failed batches touched waits for the rollback and shows none of them.
        let account = try await ledger.read { $0.lookupAccounts([3]) }
        #expect(account.first?.creditsPosted == UInt128(acknowledged.count))
        #expect(try await ledger.read { $0.lookupTransfers(refused) }.isEmpty)
        // The state is exactly what the directory rebuilds to.
        let (lsn, digest) = await ledger.status()
        #expect(lsn == ledger.durableLSN)
        let rebuilt = try LedgerRecovery.recover(directory: dir, repair: false)
        #expect(rebuilt.lsn == lsn && rebuilt.ledger.digest() == digest)
        #expect((rebuilt.snapshot != nil) == (snapshotEvery > 0), "the rebuild starts from a snapshot when there is one")
        // Still full: writes are refused.
        #expect(throws: EngineError.self) { try ledger.enqueueWrite(.transfers(batch())) }
        // The dir, as a kill now would leave it (the failed tail cut), verifies clean.
        let kamino = try #require(builtExecutable("kamino"))
        let logDir = TemporaryDirectory()
        defer { logDir.remove() }
        let verifyLog = logDir.path + "/verify.out"
        #expect(runProcess([kamino, "wal", "verify", dir], log: verifyLog) == 0,
                "\(String(decoding: fileBytes(verifyLog), as: UTF8.self))")

        // Space is back: writes resume by themselves.
        #expect(mount("tmpfs", mountPoint.path, "tmpfs", UInt(MS_REMOUNT), "size=4m") == 0)
        var resumed = false
        for _ in 0..<100 where !resumed {
            if ledger.acceptsWrites, let results = try? await ledger.createTransfers(batch()) {
                #expect(results.allSatisfy { $0.status == .created })
                acknowledged += (next - 50..<next).map { $0 }
                resumed = true
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        try #require(resumed, "writes did not resume once space was back")
        await ledger.close()

        let reopened = try await open()
        let after = try await reopened.read { $0.lookupAccounts([3]) }
        #expect(after.first?.creditsPosted == UInt128(acknowledged.count))
        #expect(try await reopened.read { $0.lookupTransfers(acknowledged) }.count == acknowledged.count)
        #expect(try await reopened.read { $0.lookupTransfers(refused) }.isEmpty)
        await reopened.close()
    }
}

extension BatchEvents {
    /// The ids of a transfers batch (empty for other batches).
    fileprivate var transferIds: [UInt128] {
        if case .transfers(let transfers) = self { return transfers.map(\.id) }
        return []
    }
}
