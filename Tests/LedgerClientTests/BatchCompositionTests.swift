import LedgerCore
import Testing

@testable import LedgerClient

/// Which calls may share a request, and the circuit breaker's states.
@Suite struct BatchCompositionTests {
    @Test func openChainsEndARequestAndImportedCallsGoAlone() {
        let open = [Transfer(id: 1, flags: .linked)]
        let closed = [Transfer(id: 2, flags: .linked), Transfer(id: 3)]
        let imported = [Transfer(id: 4, flags: .imported)]
        #expect(CreateTransfersKind.mustEndRequest(open))
        #expect(!CreateTransfersKind.mustEndRequest(closed))
        #expect(CreateTransfersKind.mustGoAlone(imported))
        #expect(!CreateTransfersKind.mustGoAlone(closed))
        let parts = CreateTransfersKind.slice([1, 2, 3], among: [open, closed])
        #expect(parts == [[1], [2, 3]])
        #expect(CreateTransfersKind.slice([1, 2], among: [open, closed]) == nil)
    }

    @Test func lookupsAreSplitById() {
        let records = [Account(id: 5, ledger: 1, code: 1), Account(id: 7, ledger: 1, code: 1)]
        let parts = LookupAccountsKind.byId(records, id: \.id, among: [[7, 9], [5, 7]])
        #expect(parts?.map { $0.map(\.id) } == [[7], [5, 7]])
        #expect(LookupAccountsKind.byId(records, id: \.id, among: [[5]]) == nil)
    }

    @Test func breakerOpensThenProbesHalfOpen() {
        var breaker = CircuitBreaker(policy: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .seconds(1)))
        let t0 = ContinuousClock.now
        breaker.recordFailure(now: t0)
        let first = breaker.admit(now: t0)
        #expect(first)
        breaker.recordFailure(now: t0)
        let duringCoolDown = breaker.admit(now: t0 + .milliseconds(500))
        #expect(!duringCoolDown)
        let afterCoolDown = breaker.admit(now: t0 + .seconds(2))
        #expect(afterCoolDown)
        #expect(breaker.state == .halfOpen)
        breaker.recordFailure(now: t0 + .seconds(2))
        #expect(breaker.isOpen)
        let probeAgain = breaker.admit(now: t0 + .seconds(4))
        #expect(probeAgain)
        breaker.recordSuccess()
        #expect(breaker.state == .closed(failures: 0))
    }

    @Test func backoffGrowsWithJitterAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 10, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(400))
        for retry in 1...6 {
            let d = policy.delay(beforeRetry: retry)
            let cap = Duration.milliseconds(min(400, 100 << (retry - 1)))
            #expect(d <= cap && d >= cap / 2)
        }
    }
}
