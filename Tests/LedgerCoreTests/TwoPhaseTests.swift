@testable import LedgerCore
import Testing

/// Two-phase transfers (docs/coding/two-phase-transfers.md; `post_or_void_pending_transfer`
/// and `execute_expire_pending_transfers` in state_machine.zig), balances checked at every step.
@Suite("two-phase transfers")
struct TwoPhaseTests {
    /// Pending transfer 20: 1 -> 2, 100, with the given timeout (seconds).
    static func pending(timeout: UInt32 = 0) throws -> (TestLedger, deadline: UInt64) {
        let t = try transferFixture()
        try t.setupTransfers([xfer(20, 1, 2, 100, flags: .pending, timeout: timeout)])
        let reserved = Balances(debitsPending: 100)
        #expect(t.balances(1) == reserved)
        #expect(t.balances(2) == Balances(creditsPending: 100))
        #expect(t.ledger.pendingStatus(ofTransfer: 20) == .pending)
        return (t, t.clock + UInt64(timeout) * TestLedger.second)
    }

    @Test("post with amount max posts the full pending amount", arguments: Layout.allCases)
    func postFullMax(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending()
            #expect(try t.status(post(10, 20, .max)) == .created)
            #expect(t.transfer(10)?.amount == 100)
            #expect(t.balances(1) == Balances(debitsPosted: 100))
            #expect(t.balances(2) == Balances(creditsPosted: 100))
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .posted)
            #expect(t.ledger.pendingStatus(ofTransfer: 10) == PendingStatus.none)
            // The pending transfer itself is immutable.
            let p = try #require(t.transfer(20))
            #expect(p.amount == 100 && p.flags == .pending)
        }
    }

    @Test("post with exactly the pending amount posts it all", arguments: Layout.allCases)
    func postFullExact(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending()
            #expect(try t.status(post(10, 20, 100)) == .created)
            #expect(t.balances(1) == Balances(debitsPosted: 100))
            #expect(t.balances(2) == Balances(creditsPosted: 100))
        }
    }

    @Test("partial post posts the amount and releases the rest", arguments: Layout.allCases)
    func postPartial(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending()
            #expect(try t.status(post(10, 20, 60)) == .created)
            #expect(t.transfer(10)?.amount == 60)
            #expect(t.balances(1) == Balances(debitsPosted: 60))
            #expect(t.balances(2) == Balances(creditsPosted: 60))
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .posted)
        }
    }

    @Test("post of zero posts nothing and releases everything", arguments: Layout.allCases)
    func postZero(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending()
            #expect(try t.status(post(10, 20, 0)) == .created)
            #expect(t.transfer(10)?.amount == 0)
            #expect(t.balances(1) == Balances())
            #expect(t.balances(2) == Balances())
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .posted)
            #expect(try t.status(post(11, 20, 0)) == .pendingTransferAlreadyPosted)
        }
    }

    @Test("void releases the full amount (amount 0 or the pending amount)", arguments: Layout.allCases)
    func voidReleases(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending()
            #expect(try t.status(void(10, 20, 0)) == .created)
            #expect(t.transfer(10)?.amount == 100)
            #expect(t.balances(1) == Balances())
            #expect(t.balances(2) == Balances())
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .voided)

            let (u, _) = try Self.pending()
            #expect(try u.status(void(10, 20, 100)) == .created)
            #expect(u.balances(1) == Balances())
            #expect(u.ledger.pendingStatus(ofTransfer: 20) == .voided)
        }
    }

    @Test("a pending transfer resolves only once", arguments: Layout.allCases)
    func resolveOnce(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending()
            #expect(try t.status(post(10, 20, 40)) == .created)
            let after = (t.balances(1), t.balances(2))
            #expect(try t.status(post(11, 20, 40)) == .pendingTransferAlreadyPosted)
            #expect(try t.status(post(12, 20)) == .pendingTransferAlreadyPosted)
            #expect(try t.status(void(13, 20)) == .pendingTransferAlreadyPosted)
            #expect((t.balances(1), t.balances(2)) == after)

            let (u, _) = try Self.pending()
            #expect(try u.status(void(10, 20)) == .created)
            #expect(try u.status(void(11, 20)) == .pendingTransferAlreadyVoided)
            #expect(try u.status(post(12, 20)) == .pendingTransferAlreadyVoided)
            #expect(u.balances(1) == Balances())
        }
    }

    @Test("pending, post and void within one batch", arguments: Layout.allCases)
    func sameBatch(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let s = try t.transferStatuses([
                xfer(20, 1, 2, 100, flags: .pending), post(10, 20, 30), post(11, 20), xfer(21, 1, 2, 5, flags: .pending),
                void(12, 21),
            ])
            #expect(s == [.created, .created, .pendingTransferAlreadyPosted, .created, .created])
            #expect(t.balances(1) == Balances(debitsPosted: 30))
            #expect(t.balances(2) == Balances(creditsPosted: 30))
        }
    }

    @Test("expiry through pulse: due at timestamp + timeout", arguments: Layout.allCases)
    func expiryThroughPulse(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, deadline) = try Self.pending(timeout: 2)
            t.setNext(deadline - 1)
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .pending)
            #expect(t.balances(1) == Balances(debitsPending: 100))
            t.setNext(deadline)
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .expired)
            #expect(t.balances(1) == Balances())
            #expect(t.balances(2) == Balances())
            #expect(try t.status(post(10, 20)) == .pendingTransferExpired)
            #expect(try t.status(void(11, 20)) == .pendingTransferExpired)
            #expect(t.balances(1) == Balances())
            // The expired pending transfer is still a transfer; nothing new was created.
            #expect(t.transfer(20)?.amount == 100)
            #expect(t.ledger.transferCount == 1)
        }
    }

    @Test("expiry through a later batch of any kind, before its events", arguments: Layout.allCases)
    func expiryThroughBatch(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, deadline) = try Self.pending(timeout: 1)
            t.setNext(deadline + 1)
            // A create_accounts batch whose first event is after the deadline expires it first.
            try t.setupAccounts([acct(7)])
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .expired)
            #expect(t.balances(1) == Balances())

            let (u, d2) = try Self.pending(timeout: 1)
            u.setNext(d2 + 1)
            let r = try u.createTransfers([post(10, 20)])
            #expect(r[0].status == .pendingTransferExpired)
            #expect(u.balances(1) == Balances())
            #expect(u.ledger.pendingStatus(ofTransfer: 20) == .expired)
        }
    }

    @Test("a post at exactly the deadline fails, though the amounts stay reserved until expiry runs", arguments: Layout.allCases)
    func deadlineIsExclusive(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, deadline) = try Self.pending(timeout: 1)
            t.setNext(deadline)
            #expect(try t.status(post(10, 20)) == .pendingTransferExpired)
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .pending)
            #expect(t.balances(1) == Balances(debitsPending: 100))
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .expired)
            #expect(t.balances(1) == Balances())

            // Within one batch: the first event is before the deadline, the post at it.
            let (u, d2) = try Self.pending(timeout: 1)
            u.setNext(d2)
            #expect(try u.transferStatuses([xfer(11, 1, 3, 1), post(10, 20)]) == [.created, .pendingTransferExpired])
            #expect(u.balances(1) == Balances(debitsPending: 100, debitsPosted: 1))
        }
    }

    @Test("a post one nanosecond before the deadline succeeds; expiry then skips it", arguments: Layout.allCases)
    func postJustBeforeDeadline(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, deadline) = try Self.pending(timeout: 1)
            t.setNext(deadline - 1)
            #expect(try t.status(post(10, 20, 70)) == .created)
            t.advance(by: 10 * TestLedger.second)
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .posted)
            #expect(t.balances(1) == Balances(debitsPosted: 70))
            #expect(t.balances(2) == Balances(creditsPosted: 70))
        }
    }

    @Test("only due transfers expire, each at its own deadline; timeout 0 never expires", arguments: Layout.allCases)
    func severalTimeouts(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([
                xfer(20, 1, 2, 1, flags: .pending, timeout: 3),
                xfer(21, 1, 2, 10, flags: .pending, timeout: 1),
                xfer(22, 1, 2, 100, flags: .pending, timeout: 0),
                xfer(23, 1, 2, 1000, flags: .pending, timeout: 2),
            ])
            let created = t.clock - 3  // timestamp of transfer 20
            t.setNext(created + 1 + TestLedger.second)  // 21's deadline
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 21) == .expired)
            #expect(t.balances(1) == Balances(debitsPending: 1101))
            t.setNext(created + 3 + 2 * TestLedger.second)  // 23's deadline
            try t.pulse()
            #expect(t.balances(1) == Balances(debitsPending: 101))
            t.advance(by: 100_000 * TestLedger.second)
            try t.pulse()
            #expect(t.balances(1) == Balances(debitsPending: 100))
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .expired)
            #expect(t.ledger.pendingStatus(ofTransfer: 22) == .pending)
            #expect(try t.status(post(10, 22)) == .created)
            #expect(t.balances(1) == Balances(debitsPosted: 100))
        }
    }

    @Test("expiry restores the room of a debits_must_not_exceed_credits account", arguments: Layout.allCases)
    func expiryRestoresLimit(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 1, 5, 50)])
            try t.setupTransfers([xfer(20, 5, 2, 50, flags: .pending, timeout: 1)])
            #expect(try t.status(xfer(10, 5, 2, 1)) == .exceedsCredits)
            t.advance(by: 2 * TestLedger.second)
            #expect(try t.status(xfer(11, 5, 2, 50)) == .created)
            #expect(t.balances(5) == Balances(debitsPosted: 50, creditsPosted: 50))
        }
    }

    @Test("pulse must advance time", arguments: Layout.allCases)
    func pulseMonotonic(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let (t, _) = try Self.pending(timeout: 1)
            let last = t.ledger.lastTimestamp
            #expect(throws: LedgerError.self) { try t.ledger.pulse(timestamp: last) }
            try t.ledger.pulse(timestamp: last + 1)
            #expect(t.ledger.lastTimestamp == last + 1)
        }
    }
}
