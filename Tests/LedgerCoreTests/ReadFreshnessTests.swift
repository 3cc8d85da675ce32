@testable import LedgerCore
import Testing

/// A read's freshness (the newest change timestamp its answer depends on) per read kind,
/// and the ledger-wide guards for imported events and expiry.
@Suite("read freshness")
struct ReadFreshnessTests {
    /// Accounts 1, 2, 3 (3 never used) at batch `t0`; transfer 10 (1 -> 2) at `t1`;
    /// transfer 11 (2 -> 1) at `t2`. Returns the ledger and the batch timestamps.
    static func book() throws -> (Ledger, t0: UInt64, t1: UInt64, t2: UInt64) {
        let ledger = Ledger()
        let t0: UInt64 = 1_000_000
        _ = try ledger.createAccounts([acct(1), acct(2), acct(3)], timestamp: t0)
        let t1 = t0 + 1_000
        _ = try ledger.createTransfers([xfer(10, 1, 2, 5)], timestamp: t1)
        let t2 = t1 + 1_000
        _ = try ledger.createTransfers([xfer(11, 2, 1, 7)], timestamp: t2)
        return (ledger, t0, t1, t2)
    }

    @Test("transfers: the newest timestamp returned; nothing returned: 0")
    func transfers() throws {
        let (ledger, _, t1, t2) = try Self.book()
        #expect(ledger.freshness(ofTransfers: ledger.lookupTransfers([10])) == t1)
        #expect(ledger.freshness(ofTransfers: ledger.lookupTransfers([10, 11])) == t2)
        #expect(ledger.freshness(ofTransfers: ledger.lookupTransfers([99])) == 0)
        let older = ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 1))
        #expect(older.map(\.id) == [10] && ledger.freshness(ofTransfers: older) == t1)
        let all = ledger.queryTransfers(QueryFilter(ledger: 1, limit: 10))
        #expect(ledger.freshness(ofTransfers: all) == t2)
    }

    @Test("accounts: creation or the last transfer in the account's list")
    func accounts() throws {
        let (ledger, t0, t1, t2) = try Self.book()
        // Account 3 has no transfer: its creation. Accounts 1 and 2: transfer 11.
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([3])) == t0)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([1])) == t2)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([99])) == 0)
        _ = try ledger.createTransfers([xfer(12, 1, 3, 1)], timestamp: t2 + 1_000)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([2])) == t2)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([3])) == t2 + 1_000)
        #expect(ledger.freshness(ofAccounts: ledger.queryAccounts(QueryFilter(ledger: 1, limit: 10))) == t2 + 1_000)
        _ = t1
    }

    @Test("a failed or rolled-back transfer changes no freshness")
    func rolledBack() throws {
        let (ledger, _, _, t2) = try Self.book()
        // A linked pair whose second event fails: the first is rolled back.
        let results = try ledger.createTransfers(
            [xfer(20, 1, 3, 1, flags: .linked), xfer(21, 3, 3, 1)], timestamp: t2 + 1_000)
        #expect(results.allSatisfy { $0.status != .created })
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([3])) < t2 + 1_000)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([1])) == t2)
    }

    @Test("balances: the newest history entry returned")
    func balances() throws {
        let ledger = Ledger()
        _ = try ledger.createAccounts([acct(1, flags: .history), acct(2)], timestamp: 1_000_000)
        _ = try ledger.createTransfers([xfer(10, 1, 2, 5)], timestamp: 1_001_000)
        _ = try ledger.createTransfers([xfer(11, 2, 1, 5)], timestamp: 1_002_000)
        let all = ledger.getAccountBalances(AccountFilter(accountId: 1, limit: 10))
        #expect(all.count == 2 && ledger.freshness(ofBalances: all) == 1_002_000)
        let first = ledger.getAccountBalances(AccountFilter(accountId: 1, limit: 1))
        #expect(ledger.freshness(ofBalances: first) == 1_001_000)
    }

    @Test("post and void are in both accounts' lists")
    func postAndVoid() throws {
        let (ledger, _, _, t2) = try Self.book()
        _ = try ledger.createTransfers([xfer(30, 1, 2, 3, flags: .pending)], timestamp: t2 + 1_000)
        _ = try ledger.createTransfers([post(31, 30)], timestamp: t2 + 2_000)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([1])) == t2 + 2_000)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([2])) == t2 + 2_000)
        _ = try ledger.createTransfers([xfer(32, 1, 2, 3, flags: [.pending, .closingDebit])], timestamp: t2 + 3_000)
        _ = try ledger.createTransfers([void(33, 32)], timestamp: t2 + 4_000)
        #expect(ledger.lookupAccounts([1]).first.map { !$0.flags.contains(.closed) } == true)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([1])) == t2 + 4_000)
    }

    @Test("expiry: account reads are as fresh as the last batch that expired something")
    func expiry() throws {
        let (ledger, _, _, t2) = try Self.book()
        #expect(ledger.lastExpiryTimestamp == 0)
        let pendingAt = t2 + 1_000
        _ = try ledger.createTransfers([xfer(40, 1, 2, 3, flags: .pending, timeout: 1)], timestamp: pendingAt)
        // A pulse before the deadline expires nothing.
        try ledger.pulse(timestamp: pendingAt + 1_000)
        #expect(ledger.lastExpiryTimestamp == 0)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([3])) < pendingAt)
        let pulseAt = pendingAt + 2_000_000_000
        try ledger.pulse(timestamp: pulseAt)
        #expect(ledger.pendingStatus(ofTransfer: 40) == .expired)
        #expect(ledger.lastExpiryTimestamp == pulseAt)
        // Every account read, even of an account expiry did not touch, is that fresh;
        // transfer reads are not (expiry changes no transfer).
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([1])) == pulseAt)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([3])) == pulseAt)
        #expect(ledger.freshness(ofTransfers: ledger.lookupTransfers([40])) == pendingAt)
        // Expiry at the start of a create batch: that batch's timestamp.
        _ = try ledger.createTransfers([xfer(41, 1, 2, 3, flags: .pending, timeout: 1)], timestamp: pulseAt + 1_000)
        let batchAt = pulseAt + 3_000_000_000
        _ = try ledger.createTransfers([xfer(42, 1, 3, 1)], timestamp: batchAt)
        #expect(ledger.lastExpiryTimestamp == batchAt)
    }

    @Test("imported events: every read is as fresh as the last batch that imported")
    func imported() throws {
        let (ledger, t0, _, t2) = try Self.book()
        #expect(ledger.lastImportBatchTimestamp == 0)
        let batchAt = t2 + 1_000
        // An imported transfer with a past timestamp (after both accounts' creation, after the last transfer).
        let results = try ledger.createTransfers([xfer(50, 1, 3, 1, flags: .imported, timestamp: t2 + 1)], timestamp: batchAt)
        #expect(results.map(\.status) == [.created])
        #expect(ledger.lastImportBatchTimestamp == batchAt)
        #expect(ledger.lookupTransfers([50]).first?.timestamp == t2 + 1)
        #expect(ledger.freshness(ofTransfers: ledger.lookupTransfers([50])) == batchAt)
        #expect(ledger.freshness(ofTransfers: ledger.lookupTransfers([10])) == batchAt)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([3])) == batchAt)
        // Imported accounts too.
        _ = try ledger.createAccounts([acct(60, flags: .imported, timestamp: t0 + 1)], timestamp: batchAt + 1_000)
        #expect(ledger.lastImportBatchTimestamp == batchAt + 1_000)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([60])) == batchAt + 1_000)
    }

    @Test("the sharded layout always waits")
    func sharded() throws {
        let ledger = ShardedLedger(shardCount: 2)
        _ = try ledger.createAccounts([acct(1), acct(2)], timestamp: 1_000_000)
        #expect(ledger.freshness(ofAccounts: ledger.lookupAccounts([1])) == .max)
        #expect(ledger.freshness(ofTransfers: []) == .max)
        #expect(ledger.freshness(ofBalances: []) == .max)
    }
}
