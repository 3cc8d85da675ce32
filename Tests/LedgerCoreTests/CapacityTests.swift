import LedgerStorage
import Testing

@testable import LedgerCore

/// `Ledger.reserveCapacity`: the start-up capacity of `expected_transfers`.
@Suite("Start-up capacity")
struct CapacityTests {
    static let accounts = (1...50).map { Account(id: UInt128($0), ledger: 1, code: 1) }

    /// Transfers with ids `first..<first + count` between the 50 accounts, in batches of
    /// 8189 (the last one shorter).
    static func batches(first: Int, count: Int) -> [[Transfer]] {
        var out: [[Transfer]] = []
        var start = first
        while start < first + count {
            let end = min(start + 8189, first + count)
            out.append((start..<end).map(transfer))
            start = end
        }
        return out
    }

    /// Transfer `k`: a fresh id, between two of the 50 accounts.
    static func transfer(_ k: Int) -> Transfer {
        let debit = UInt128(1 + k % 50)
        let credit = UInt128(1 + (k + 13) % 50)
        let amount = UInt128(1 + k % 1000)
        return Transfer(id: UInt128(k) << 20 | 7, debitAccountId: debit, creditAccountId: credit, amount: amount,
                        ledger: 1, code: 1)
    }

    /// Applies the batches to both ledgers and checks they give the same results.
    static func apply(_ batches: [[Transfer]], to a: Ledger, and b: Ledger, clock: inout UInt64) throws {
        for batch in batches {
            clock += 100_000
            let x = try a.createTransfers(batch, timestamp: clock)
            let y = try b.createTransfers(batch, timestamp: clock)
            #expect(x == y)
            #expect(y.allSatisfy { $0.status == .created })
        }
    }

    @Test("A ledger whose capacity was reserved fills up to it with no chunk added and no index growth")
    func fillsReservedCapacityWithoutGrowth() throws {
        let expected = 100_000
        let plain = Ledger(memoryProvisioner: MemoryProvisioner.shared)
        let reserved = Ledger(memoryProvisioner: MemoryProvisioner.shared)
        var threads = 0
        let reservation = reserved.reserveCapacity(transfers: expected) { threads = max(threads, StartupFaultIn.faultIn($0)) }
        // 7 chunks of 16,384 records in each of the two stores, and the index's table.
        #expect(reservation.transfers == expected)
        #expect(reservation.blocks == 14)
        #expect(reservation.bytes >= expected * (128 + 1 + 8))
        #expect(reservation.bytes == Ledger.capacityBytes(transfers: expected))
        #expect(threads >= 1)
        // A second call for no more reserves nothing.
        #expect(reserved.reserveCapacity(transfers: expected).bytes == 0)
        #expect(reserved.growthCounts == (0, 0, 0))
        // The snapshots' copy of the statuses is sized for the reserved count at once.
        reserved.prepareSnapshotMemory()
        #expect(reserved.statusBuffers.spareBytes >= expected)

        var clock: UInt64 = 1_000
        _ = try plain.createAccounts(Self.accounts, timestamp: clock)
        _ = try reserved.createAccounts(Self.accounts, timestamp: clock)
        try Self.apply(Self.batches(first: 1, count: expected), to: plain, and: reserved, clock: &clock)
        #expect(reserved.transferCount == expected)
        #expect(reserved.growthCounts == (0, 0, 0), "appends up to the reserved count added chunks or grew the index")
        // The counters do count: the ledger without a reservation grew all along.
        let grown = plain.growthCounts
        #expect(grown.transferChunks == 7 && grown.statusChunks == 7 && grown.indexGrowths > 0)

        // Growth past the reserved count works as before.
        try Self.apply(Self.batches(first: 1 + expected, count: 20_000), to: plain, and: reserved, clock: &clock)
        #expect(reserved.transferCount == expected + 20_000)
        #expect(reserved.growthCounts.transferChunks >= 1 && reserved.growthCounts.statusChunks >= 1)
        #expect(plain.digest() == reserved.digest())
    }

    @Test("A reservation after transfers exist (recovery) reserves the rest; filling up to it adds nothing")
    func reservesTheRestAfterRecovery() throws {
        let plain = Ledger(memoryProvisioner: MemoryProvisioner.shared)
        let recovered = Ledger(memoryProvisioner: MemoryProvisioner.shared)
        var clock: UInt64 = 1_000
        _ = try plain.createAccounts(Self.accounts, timestamp: clock)
        _ = try recovered.createAccounts(Self.accounts, timestamp: clock)
        try Self.apply(Self.batches(first: 1, count: 30_000), to: plain, and: recovered, clock: &clock)
        let before = recovered.growthCounts
        let reservation = recovered.reserveCapacity(transfers: 100_000) { StartupFaultIn.faultIn($0) }
        // 2 chunks of each store held the 30,000 (a spare kept ahead is used first): 5 more each.
        #expect(reservation.blocks == 10)
        #expect(reservation.bytes > 0)
        try Self.apply(Self.batches(first: 30_001, count: 70_000), to: plain, and: recovered, clock: &clock)
        #expect(recovered.transferCount == 100_000)
        let after = recovered.growthCounts
        #expect(after.transferChunks == before.transferChunks && after.statusChunks == before.statusChunks)
        #expect(after.indexGrowths == before.indexGrowths)
        #expect(plain.digest() == recovered.digest())
    }
}
