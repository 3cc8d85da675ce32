import KaminoAuth
import LedgerCore
import LedgerServer
import LedgerWire
import Testing

/// Which right each request needs, ledger limits on writes, and the rate buckets.
@Suite("RequestGate and RateLimiter")
struct RequestGateTests {
    func principal(_ rights: Rights, ledgers: Set<UInt32>? = nil) -> Principal {
        Principal(subject: "s", issuer: "i", rights: rights, ledgers: ledgers, expiresAt: nil)
    }

    func right(_ verdict: RequestGate.Verdict) -> String? {
        if case .forbid(let right, _) = verdict { return right }
        return nil
    }

    @Test func eachOperationNeedsItsRight() {
        let reads: [Request] = [
            .lookupAccounts([1]), .lookupTransfers([1]), .getAccountTransfers(AccountFilter(accountId: 1, limit: 1)),
            .getAccountBalances(AccountFilter(accountId: 1, limit: 1)), .queryAccounts(QueryFilter(limit: 1)),
            .queryTransfers(QueryFilter(limit: 1)),
        ]
        for r in reads {
            #expect(RequestGate.check(r, principal: principal(.read)) == .allow)
            #expect(right(RequestGate.check(r, principal: principal([.write, .admin, .import]))) == "read")
        }
        for r: Request in [.status, .digest, .promote] {
            #expect(RequestGate.check(r, principal: principal(.admin)) == .allow)
            #expect(right(RequestGate.check(r, principal: principal([.read, .write]))) == "admin")
        }
        let plain = Transfer(id: 1, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 7, code: 1)
        var imported = plain
        imported.flags = .imported
        #expect(RequestGate.check(.createTransfers([plain]), principal: principal(.write)) == .allow)
        #expect(right(RequestGate.check(.createTransfers([plain]), principal: principal([.read, .import]))) == "write")
        #expect(right(RequestGate.check(.createTransfers([imported]), principal: principal(.write))) == "import")
        #expect(RequestGate.check(.createTransfers([imported]), principal: principal(.import)) == .allow)
        #expect(right(RequestGate.check(.createTransfers([imported, plain]), principal: principal(.import))) == "write")
        #expect(RequestGate.check(.createTransfers([]), principal: principal([])) == .allow)
        #expect(RequestGate.check(.createAccounts([Account(id: 1, ledger: 7, code: 1)]), principal: .unauthenticated) == .allow)
    }

    @Test func ledgerLimitsRefuseTheWholeWrite() {
        let seven = principal([.write, .import], ledgers: [7])
        func t(_ ledger: UInt32) -> Transfer { Transfer(id: 1, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: ledger, code: 1) }
        #expect(RequestGate.check(.createTransfers([t(7), t(7)]), principal: seven) == .allow)
        #expect(right(RequestGate.check(.createTransfers([t(7), t(8)]), principal: seven)) == "ledger")
        #expect(right(RequestGate.check(.createTransfers([t(0)]), principal: seven)) == "ledger")
        #expect(right(RequestGate.check(.createAccounts([Account(id: 1, ledger: 8, code: 1)]), principal: seven)) == "ledger")
        #expect(right(RequestGate.check(.createAccounts([Account(id: 1, ledger: 7, code: 1)]), principal: principal([.write], ledgers: []))) == "ledger")
    }

    @Test func tokenBucketsRefillAtTheirRate() throws {
        let limiter = try #require(RateLimiter(requestsPerSecond: 10, eventsPerSecond: 20_000))
        #expect(RateLimiter(requestsPerSecond: 0, eventsPerSecond: 0) == nil)
        let b = limiter.buckets(for: "a")
        #expect(limiter.buckets(for: "a") === b)
        let t0: UInt64 = 1_000_000_000
        for _ in 0..<10 { #expect(b.take(events: 1, now: t0) == nil) }
        let refused = try #require(b.take(events: 1, now: t0))
        #expect(refused.0 == .requestRate && refused.1 == 100)
        // 100 ms later one request token is back.
        #expect(b.take(events: 1, now: t0 + 100_000_000) == nil)
        #expect(b.take(events: 1, now: t0 + 100_000_000) != nil)
        // Events: a full batch passes once the bucket holds it; a refused request takes nothing.
        let e = limiter.buckets(for: "b")
        #expect(e.take(events: 8189, now: t0) == nil)
        #expect(e.take(events: 8189, now: t0) == nil)
        let tooMany = try #require(e.take(events: 8189, now: t0))
        #expect(tooMany.0 == .eventRate)
        #expect(e.take(events: 3000, now: t0) == nil, "the refused request took no events (3622 left)")
    }
}
