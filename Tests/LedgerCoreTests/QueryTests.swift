@testable import LedgerCore
import Testing

/// Lookups and queries (docs/reference/requests/{lookup_*,get_account_*,query_*}.md,
/// account-filter.md, query-filter.md; `get_scan_from_account_filter` and
/// `get_scan_from_query_filter` in state_machine.zig).
@Suite("lookups and queries")
struct QueryTests {
    /// Accounts 1 (history), 2, 3, 4 (ledger 2), 5 and transfers 11...17, each in its own
    /// batch so timestamps are well apart:
    ///   11: 1 -> 2  10  code 1  ud 7/70/700
    ///   12: 2 -> 1  20  code 2  ud128 8
    ///   13: 1 -> 3  30  code 1  ud 7/71/0
    ///   14: 2 -> 3  40  code 1
    ///   15: 3 -> 1  50  pending, code 3, ud32 700
    ///   16: post 15 (inherits code 3 and ud32 700)
    ///   17: 5 -> 2   5  code 1
    static func setup() throws -> TestLedger {
        let t = TestLedger()
        try t.setupAccounts([
            acct(1, code: 10, flags: .history, userData128: 100, userData64: 200, userData32: 300),
            acct(2, code: 10, userData128: 100, userData64: 201, userData32: 300),
            acct(3, code: 11, userData128: 101, userData64: 200, userData32: 301),
            acct(4, ledger: 2, code: 10, userData128: 100),
            acct(5, code: 10, userData128: 100, userData64: 200, userData32: 300),
        ])
        for x in [
            xfer(11, 1, 2, 10, code: 1, userData128: 7, userData64: 70, userData32: 700),
            xfer(12, 2, 1, 20, code: 2, userData128: 8),
            xfer(13, 1, 3, 30, code: 1, userData128: 7, userData64: 71),
            xfer(14, 2, 3, 40, code: 1),
            xfer(15, 3, 1, 50, flags: .pending, code: 3, userData32: 700),
            post(16, 15),
            xfer(17, 5, 2, 5, code: 1),
        ] {
            try t.setupTransfers([x])
        }
        return t
    }

    static func ts(_ t: TestLedger, _ id: UInt128) -> UInt64 { t.transfer(id)!.timestamp }

    func ids(_ transfers: [Transfer]) -> [UInt128] { transfers.map(\.id) }

    // MARK: lookup_accounts / lookup_transfers

    @Test("lookups keep the requested order and skip unknown ids")
    func lookups() throws {
        let t = try Self.setup()
        #expect(t.ledger.lookupAccounts([3, 99, 1, 0, .max, 3]).map(\.id) == [3, 1, 3])
        #expect(t.ledger.lookupAccounts([]).isEmpty)
        #expect(t.ledger.lookupTransfers([16, 98, 11, 0]).map(\.id) == [16, 11])
        let a = try #require(t.ledger.lookupAccounts([1]).first)
        #expect(Balances(a) == Balances(debitsPosted: 40, creditsPosted: 70))
        #expect(a.userData64 == 200 && a.code == 10 && a.flags == .history)
    }

    // MARK: get_account_transfers

    @Test("debits and credits of the account, oldest first")
    func accountTransfers() throws {
        let t = try Self.setup()
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 100))) == [11, 12, 13, 15, 16])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 100, flags: .debits))) == [11, 13])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 100, flags: .credits))) == [12, 15, 16])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 2, limit: 100))) == [11, 12, 14, 17])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 4, limit: 100))).isEmpty)
    }

    @Test("reversed and limit")
    func reversedAndLimit() throws {
        let t = try Self.setup()
        let all: AccountFilterFlags = [.debits, .credits]
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 100, flags: all.union(.reversed))))
                == [16, 15, 13, 12, 11])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 2))) == [11, 12])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 2, flags: all.union(.reversed)))) == [16, 15])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: 1, flags: [.credits, .reversed]))) == [16])
    }

    @Test("timestamp range is inclusive; zero means unbounded")
    func timestampRange() throws {
        let t = try Self.setup()
        let (t12, t15) = (Self.ts(t, 12), Self.ts(t, 15))
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, timestampMin: t12, timestampMax: t15, limit: 100)))
                == [12, 13, 15])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, timestampMin: t12 + 1, timestampMax: t15 - 1, limit: 100)))
                == [13])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, timestampMin: t15, limit: 100))) == [15, 16])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, timestampMax: t12, limit: 100))) == [11, 12])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, timestampMin: t12, timestampMax: t12, limit: 100))) == [12])
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(
            accountId: 1, timestampMin: t12, timestampMax: t15, limit: 2, flags: [.debits, .credits, .reversed]))) == [15, 13])
    }

    @Test("user_data and code filters are ANDed")
    func fieldFilters() throws {
        let t = try Self.setup()
        func q(_ f: AccountFilter) -> [UInt128] { ids(t.ledger.getAccountTransfers(f)) }
        #expect(q(AccountFilter(accountId: 1, userData128: 7, limit: 100)) == [11, 13])
        #expect(q(AccountFilter(accountId: 1, userData64: 71, limit: 100)) == [13])
        #expect(q(AccountFilter(accountId: 1, userData32: 700, limit: 100)) == [11, 15, 16])
        #expect(q(AccountFilter(accountId: 1, code: 3, limit: 100)) == [15, 16])
        #expect(q(AccountFilter(accountId: 1, userData128: 7, code: 1, limit: 100)) == [11, 13])
        #expect(q(AccountFilter(accountId: 1, userData128: 7, userData64: 70, limit: 100, flags: .debits)) == [11])
        #expect(q(AccountFilter(accountId: 1, code: 1, limit: 100, flags: .credits)).isEmpty)
        #expect(q(AccountFilter(accountId: 1, userData128: 8, code: 1, limit: 100)).isEmpty)
        #expect(q(AccountFilter(accountId: 2, code: 1, limit: 100)) == [11, 14, 17])
    }

    /// Filters the reference rejects (empty result).
    static let invalidAccountFilters: [AccountFilter] = [
        AccountFilter(accountId: 0, limit: 10),
        AccountFilter(accountId: .max, limit: 10),
        AccountFilter(accountId: 1, limit: 0),
        AccountFilter(accountId: 1, limit: 10, flags: []),
        AccountFilter(accountId: 1, limit: 10, flags: .reversed),
        AccountFilter(accountId: 1, limit: 10, flags: AccountFilterFlags(rawValue: 0b1011)),
        AccountFilter(accountId: 1, limit: 10, flags: AccountFilterFlags(rawValue: 1 << 31 | 0b11)),
        AccountFilter(accountId: 1, reservedIsZero: false, limit: 10),
        AccountFilter(accountId: 1, timestampMin: 5, timestampMax: 4, limit: 10),
        AccountFilter(accountId: 1, timestampMin: UInt64(Int64.max) + 1, limit: 10),
        AccountFilter(accountId: 1, timestampMax: UInt64(Int64.max) + 1, limit: 10),
        AccountFilter(accountId: 99, limit: 10),
    ]

    @Test("invalid filters and unknown accounts return nothing", arguments: invalidAccountFilters)
    func invalidAccountFilter(_ filter: AccountFilter) throws {
        let t = try Self.setup()
        #expect(t.ledger.getAccountTransfers(filter).isEmpty)
        #expect(t.ledger.getAccountBalances(filter).isEmpty)
    }

    @Test("edge values that are still valid")
    func validEdges() throws {
        let t = try Self.setup()
        // timestamp_max 0 means no upper bound, even with a minimum set.
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, timestampMin: 5, timestampMax: 0, limit: 100))).count == 5)
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(
            accountId: 1, timestampMin: UInt64(Int64.max), timestampMax: UInt64(Int64.max), limit: 100))).isEmpty)
        #expect(ids(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: .max))).count == 5)
    }

    // MARK: get_account_balances

    @Test("balances after each transfer, for accounts with flags.history only")
    func accountBalances() throws {
        let t = try Self.setup()
        let rows = t.ledger.getAccountBalances(AccountFilter(accountId: 1, limit: 100))
        #expect(rows.map { Balances($0) } == [
            Balances(debitsPosted: 10),
            Balances(debitsPosted: 10, creditsPosted: 20),
            Balances(debitsPosted: 40, creditsPosted: 20),
            Balances(debitsPosted: 40, creditsPending: 50, creditsPosted: 20),
            Balances(debitsPosted: 40, creditsPosted: 70),
        ])
        #expect(rows.map(\.timestamp) == [11, 12, 13, 15, 16].map { Self.ts(t, $0) })
        // No history flag: nothing, although the account has transfers.
        #expect(t.ledger.getAccountBalances(AccountFilter(accountId: 2, limit: 100)).isEmpty)
        #expect(t.ledger.getAccountBalances(AccountFilter(accountId: 5, limit: 100)).isEmpty)
    }

    @Test("balances honour the same filter fields as get_account_transfers")
    func accountBalancesFiltered() throws {
        let t = try Self.setup()
        func q(_ f: AccountFilter) -> [UInt64] { t.ledger.getAccountBalances(f).map(\.timestamp) }
        #expect(q(AccountFilter(accountId: 1, limit: 100, flags: .debits)) == [11, 13].map { Self.ts(t, $0) })
        #expect(q(AccountFilter(accountId: 1, limit: 2, flags: [.debits, .credits, .reversed])) == [16, 15].map { Self.ts(t, $0) })
        #expect(q(AccountFilter(accountId: 1, code: 3, limit: 100)) == [15, 16].map { Self.ts(t, $0) })
        #expect(q(AccountFilter(accountId: 1, timestampMin: Self.ts(t, 13), timestampMax: Self.ts(t, 13), limit: 100))
                == [Self.ts(t, 13)])
        let row = try #require(t.ledger.getAccountBalances(AccountFilter(accountId: 1, userData64: 71, limit: 100)).first)
        #expect(Balances(row) == Balances(debitsPosted: 40, creditsPosted: 20))
    }

    @Test("expiry adds no balance row; post and void do")
    func balancesAndExpiry() throws {
        let t = try Self.setup()
        try t.setupTransfers([xfer(20, 1, 2, 3, flags: .pending, timeout: 1), xfer(21, 2, 1, 4, flags: .pending)])
        try t.setupTransfers([void(22, 21)])
        t.advance(by: 2 * TestLedger.second)
        try t.pulse()
        #expect(t.ledger.pendingStatus(ofTransfer: 20) == .expired)
        let rows = t.ledger.getAccountBalances(AccountFilter(accountId: 1, limit: 100))
        #expect(rows.count == 8)
        #expect(rows.suffix(3).map { Balances($0) } == [
            Balances(debitsPending: 3, debitsPosted: 40, creditsPosted: 70),
            Balances(debitsPending: 3, debitsPosted: 40, creditsPending: 4, creditsPosted: 70),
            Balances(debitsPending: 3, debitsPosted: 40, creditsPosted: 70),
        ])
        #expect(t.balances(1) == Balances(debitsPosted: 40, creditsPosted: 70))
    }

    // MARK: query_accounts

    @Test("query_accounts: non-zero fields ANDed, by timestamp")
    func queryAccounts() throws {
        let t = try Self.setup()
        func q(_ f: QueryFilter) -> [UInt128] { t.ledger.queryAccounts(f).map(\.id) }
        #expect(q(QueryFilter(limit: 100)) == [1, 2, 3, 4, 5])
        #expect(q(QueryFilter(ledger: 1, code: 10, limit: 100)) == [1, 2, 5])
        #expect(q(QueryFilter(userData128: 100, userData64: 200, limit: 100)) == [1, 5])
        #expect(q(QueryFilter(userData128: 100, userData64: 200, userData32: 300, ledger: 1, code: 10, limit: 100)) == [1, 5])
        #expect(q(QueryFilter(userData32: 300, limit: 100)) == [1, 2, 5])
        #expect(q(QueryFilter(ledger: 2, limit: 100)) == [4])
        #expect(q(QueryFilter(code: 11, limit: 100)) == [3])
        #expect(q(QueryFilter(userData128: 101, code: 10, limit: 100)).isEmpty)
        #expect(q(QueryFilter(code: 10, limit: 100, flags: .reversed)) == [5, 4, 2, 1])
        #expect(q(QueryFilter(code: 10, limit: 2)) == [1, 2])
        #expect(q(QueryFilter(code: 10, limit: 2, flags: .reversed)) == [5, 4])
        let ts2 = try #require(t.account(2)?.timestamp)
        let ts4 = try #require(t.account(4)?.timestamp)
        #expect(q(QueryFilter(timestampMin: ts2, timestampMax: ts4, limit: 100)) == [2, 3, 4])
        #expect(q(QueryFilter(code: 10, timestampMin: ts2, timestampMax: ts4, limit: 100)) == [2, 4])
        #expect(q(QueryFilter(timestampMin: ts4, limit: 100)) == [4, 5])
        #expect(q(QueryFilter(timestampMax: ts2, limit: 100, flags: .reversed)) == [2, 1])
    }

    static let invalidQueryFilters: [QueryFilter] = [
        QueryFilter(limit: 0),
        QueryFilter(limit: 10, flags: QueryFilterFlags(rawValue: 0b10)),
        QueryFilter(limit: 10, flags: QueryFilterFlags(rawValue: 1 << 31)),
        QueryFilter(reservedIsZero: false, limit: 10),
        QueryFilter(timestampMin: 9, timestampMax: 8, limit: 10),
        QueryFilter(timestampMin: UInt64(Int64.max) + 1, limit: 10),
        QueryFilter(timestampMax: .max, limit: 10),
    ]

    @Test("invalid query filters return nothing", arguments: invalidQueryFilters)
    func invalidQueryFilter(_ filter: QueryFilter) throws {
        let t = try Self.setup()
        #expect(t.ledger.queryAccounts(filter).isEmpty)
        #expect(t.ledger.queryTransfers(filter).isEmpty)
    }

    // MARK: query_transfers

    @Test("query_transfers: non-zero fields ANDed, by timestamp")
    func queryTransfers() throws {
        let t = try Self.setup()
        func q(_ f: QueryFilter) -> [UInt128] { ids(t.ledger.queryTransfers(f)) }
        #expect(q(QueryFilter(limit: 100)) == [11, 12, 13, 14, 15, 16, 17])
        #expect(q(QueryFilter(ledger: 1, limit: 100)) == [11, 12, 13, 14, 15, 16, 17])
        #expect(q(QueryFilter(ledger: 2, limit: 100)).isEmpty)
        #expect(q(QueryFilter(code: 1, limit: 100)) == [11, 13, 14, 17])
        #expect(q(QueryFilter(userData128: 7, limit: 100)) == [11, 13])
        #expect(q(QueryFilter(userData128: 7, userData64: 71, limit: 100)) == [13])
        #expect(q(QueryFilter(userData32: 700, limit: 100)) == [11, 15, 16])
        #expect(q(QueryFilter(userData32: 700, code: 3, limit: 100)) == [15, 16])
        #expect(q(QueryFilter(userData32: 700, ledger: 1, code: 1, limit: 100)) == [11])
        #expect(q(QueryFilter(code: 1, limit: 2, flags: .reversed)) == [17, 14])
        #expect(q(QueryFilter(limit: 3)) == [11, 12, 13])
        let (t13, t16) = (Self.ts(t, 13), Self.ts(t, 16))
        #expect(q(QueryFilter(timestampMin: t13, timestampMax: t16, limit: 100)) == [13, 14, 15, 16])
        #expect(q(QueryFilter(code: 1, timestampMin: t13, timestampMax: t16, limit: 100, flags: .reversed)) == [14, 13])
        #expect(q(QueryFilter(timestampMin: t13, timestampMax: t13, limit: 100)) == [13])
    }

    // MARK: result limits

    @Test("results are capped at 8189 records (one reply)")
    func replyCap() throws {
        let t = TestLedger()
        try t.setupAccounts([acct(1), acct(2)])
        for batch in 0..<2 {
            let base = UInt128(batch * 4100 + 1)
            try t.setupTransfers((0..<4100).map { xfer(base + UInt128($0), 1, 2, 1) })
        }
        #expect(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: .max)).count == 8189)
        #expect(t.ledger.queryTransfers(QueryFilter(limit: .max)).count == 8189)
        #expect(t.ledger.queryTransfers(QueryFilter(limit: 8190)).count == 8189)
        #expect(t.ledger.getAccountTransfers(AccountFilter(accountId: 1, limit: .max, flags: [.credits, .debits, .reversed])).first?.id == 8200)
    }
}
