import LedgerCore
import LedgerStorage

/// The TigerBeetle-benchmark shape: accounts on one ledger with no limits, transfers between
/// random distinct accounts, fresh ids, batches of 8189.
public final class CoreWorkload: @unchecked Sendable {
    public let ledger: Ledger
    public let accountCount: Int
    public private(set) var clock: UInt64 = 1_000_000_000_000
    private var nextTransferId: UInt128 = 1 << 64
    private var rng: UInt64 = 0x1234_5678
    private var lastPendingIds: [UInt128] = []

    /// - Parameter prefaultMemory: give the ledger the process's `MemoryProvisioner`, as the
    ///   server's ledgers have.
    public init(accounts: Int, expectedTransfers: Int = 0, prefaultMemory: Bool = true) {
        ledger = Ledger(
            expectedAccounts: accounts, expectedTransfers: expectedTransfers,
            memoryProvisioner: prefaultMemory ? MemoryProvisioner.shared : nil)
        accountCount = accounts
        var start = 0
        while start < accounts {
            let n = min(LedgerLimits.batchMax, accounts - start)
            let batch = (0..<n).map { Account(id: UInt128(start + $0 + 1), ledger: 1, code: 1) }
            _ = try? ledger.createAccounts(batch, timestamp: tick(n))
            start += n
        }
    }

    @inline(__always)
    private func random() -> UInt64 {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return rng
    }

    /// The timestamp for the next batch of `n` events.
    public func tick(_ n: Int) -> UInt64 {
        clock = ledger.nextBatchTimestamp(wallClock: clock + 1_000, count: n)
        return clock
    }

    private func randomPair() -> (UInt128, UInt128) {
        let dr = Int(random() % UInt64(accountCount))
        var cr = Int(random() % UInt64(accountCount - 1))
        if cr >= dr { cr += 1 }
        return (UInt128(dr + 1), UInt128(cr + 1))
    }

    /// A batch of single-phase transfers with fresh ids.
    public func singlePhaseBatch(size: Int = LedgerLimits.batchMax) -> [Transfer] {
        (0..<size).map { _ in
            let (dr, cr) = randomPair()
            nextTransferId += 1
            return Transfer(id: nextTransferId, debitAccountId: dr, creditAccountId: cr,
                            amount: UInt128(1 + random() % 1000), ledger: 1, code: 1)
        }
    }

    /// Half new pending transfers, half posts of the previous batch's pending transfers.
    public func twoPhaseBatch(size: Int = LedgerLimits.batchMax) -> [Transfer] {
        var batch: [Transfer] = []
        batch.reserveCapacity(size)
        for pendingId in lastPendingIds.prefix(size / 2) {
            nextTransferId += 1
            batch.append(Transfer(id: nextTransferId, amount: .max, pendingId: pendingId, flags: .postPendingTransfer))
        }
        var pending: [UInt128] = []
        while batch.count < size {
            let (dr, cr) = randomPair()
            nextTransferId += 1
            pending.append(nextTransferId)
            batch.append(Transfer(id: nextTransferId, debitAccountId: dr, creditAccountId: cr,
                                  amount: UInt128(1 + random() % 1000), timeout: 3600, ledger: 1, code: 1, flags: .pending))
        }
        lastPendingIds = pending
        return batch
    }

    /// Applies a batch; returns how many events were created.
    @discardableResult
    public func apply(_ batch: [Transfer]) -> Int {
        guard let results = try? ledger.createTransfers(batch, timestamp: tick(batch.count)) else { return 0 }
        return results.reduce(0) { $0 + ($1.status == .created ? 1 : 0) }
    }

    /// Random existing transfer ids (ids are dense from 2^64 + 2).
    public func randomTransferIds(_ n: Int) -> [UInt128] {
        let created = UInt64(max(ledger.transferCount, 1))
        return (0..<n).map { _ in (1 << 64) + 2 + UInt128(random() % created) }
    }

    public func randomAccountIds(_ n: Int) -> [UInt128] {
        (0..<n).map { _ in UInt128(1 + random() % UInt64(accountCount)) }
    }
}
