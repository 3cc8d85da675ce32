import KaminoTestSupport
import Testing

import LedgerCore
import LedgerEngine

/// `DurableLedger.readNow` on the serial layout: an answer that holds nothing newer than
/// the durable log stands for the durable LSN (it may leave at once); any other stands
/// for the applied LSN (it waits for it).
@Suite("Direct reads: wait only for what the answer shows")
struct DirectReadTests {
    @Test("an old transfer answers at the durable LSN, an account just changed at the applied one")
    func answersAtOnceOnlyWhenDurable() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20)
        _ = try await ledger.createAccounts([1, 2, 3].map { Account(id: $0, ledger: 1, code: 1) })
        _ = try await ledger.createTransfers([Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)])
        var early = 0
        var durableNow = 0
        var writes: [DurableLedger.EnqueuedWrite] = []
        for i in 0..<500 {
            let write = try ledger.enqueueWrite(.transfers([
                Transfer(id: 100 + UInt128(i), debitAccountId: 2, creditAccountId: 3, amount: 1, ledger: 1, code: 1)]))
            writes.append(write)
            // Transfer 10 is durable: the answer never stands for a state beyond the durable one.
            let old = try #require(try ledger.readNow { r in
                let found = r.lookupTransfers([10])
                return (found, r.freshness(ofTransfers: found))
            })
            #expect(old.value.map(\.id) == [10])
            #expect(old.lsn <= ledger.durableLSN, "write \(i): answered at \(old.lsn), beyond the durable log")
            if old.lsn < write.batch.lsn { early += 1 }
            // Account 3 just changed: its answer stands for the state with the write.
            let fresh = try #require(try ledger.readNow { r in
                let found = r.lookupAccounts([3])
                return (found, r.freshness(ofAccounts: found))
            })
            #expect(fresh.value.first?.creditsPosted == UInt128(i + 1))
            #expect(fresh.lsn == write.batch.lsn, "write \(i): account 3 answered at \(fresh.lsn), not at the write's LSN")
            // `durable` (the event loops' shortcut past `whenReadable`) only for a durable state.
            for id: UInt128 in [3, 10] {
                let at = try #require(try ledger.readNowLSN { r in
                    id == 10 ? r.freshness(ofTransfers: r.lookupTransfers([id])) : r.freshness(ofAccounts: r.lookupAccounts([id]))
                })
                if at.durable {
                    durableNow += 1
                    #expect(at.lsn <= ledger.durableLSN, "write \(i): durable at \(at.lsn), beyond the durable log")
                }
            }
        }
        #expect(early > 0, "no read of a durable transfer was answered before the newest write was durable")
        #expect(durableNow > 0, "no read was found durable at once")
        for write in writes {
            _ = try await withCheckedThrowingContinuation { continuation in
                ledger.whenSettled(write) { continuation.resume(with: $0) }
            }
        }
        await ledger.close()
    }
}
