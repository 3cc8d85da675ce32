@testable import LedgerCore
import Testing

/// Linked chains (docs/coding/linked-events.md; `execute_create` and `transient_error` in
/// state_machine.zig): all-or-nothing, exact rollback, per-event results.
@Suite("linked chains")
struct LinkedChainTests {
    @Test("a failing chain rolls back balances, transfers and ids", arguments: Layout.allCases)
    func rollback(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 2, 1, 10)])
            let before = (t.balances(1), t.balances(2), t.balances(3), t.ledger.transferCount)
            let r = try t.transferStatuses([
                xfer(10, 1, 3, 5, flags: .linked),
                xfer(11, 3, 2, 5, flags: [.linked, .pending]),
                xfer(12, 1, 2, 5, ledger: 2),
            ])
            #expect(r == [.linkedEventFailed, .linkedEventFailed, .transferMustHaveTheSameLedgerAsAccounts])
            #expect((t.balances(1), t.balances(2), t.balances(3), t.ledger.transferCount) == (before.0, before.1, before.2, before.3))
            #expect(t.ledger.lookupTransfers([10, 11, 12]).isEmpty)
            #expect(t.ledger.pendingStatus(ofTransfer: 11) == nil)
            // None of the ids were consumed.
            #expect(try t.transferStatuses([xfer(10, 1, 3, 5), xfer(11, 3, 2, 5, flags: .pending), xfer(12, 1, 2, 5)])
                    == [.created, .created, .created])
            #expect(t.balances(1) == Balances(debitsPosted: 10, creditsPosted: 10))
        }
    }

    @Test("the failing event keeps its own code; those before and after it get linked_event_failed", arguments: Layout.allCases)
    func results(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let T = t.next
            let r = try t.createTransfers([
                xfer(10, 1, 2, 5, flags: .linked),
                xfer(11, 1, 2, 5, flags: .linked, code: 0),
                xfer(0, 1, 2, 5, flags: .linked),  // would fail on its own too
                xfer(13, 1, 2, 5),  // closes the chain
                xfer(14, 1, 2, 5),  // independent
            ])
            #expect(r.map(\.status) == [.linkedEventFailed, .codeMustNotBeZero, .linkedEventFailed, .linkedEventFailed, .created])
            // Failed events report their event time.
            #expect(r.map(\.timestamp) == [T - 4, T - 3, T - 2, T - 1, T])
            #expect(t.ledger.lookupTransfers([10, 11, 13, 14]).map(\.id) == [14])
        }
    }

    @Test("a chain left open at the end of the batch fails", arguments: Layout.allCases)
    func chainOpen(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let r = try t.transferStatuses([xfer(9, 1, 2, 1), xfer(10, 1, 2, 5, flags: .linked), xfer(11, 1, 2, 5, flags: .linked)])
            #expect(r == [.created, .linkedEventFailed, .linkedEventChainOpen])
            #expect(t.balances(1) == Balances(debitsPosted: 1))
            #expect(t.ledger.lookupTransfers([10, 11]).isEmpty)
            // An already broken chain still reports chain_open on its last event.
            let s = try t.transferStatuses([xfer(12, 1, 99, 5, flags: .linked), xfer(13, 1, 2, 5, flags: .linked)])
            #expect(s == [.creditAccountNotFound, .linkedEventChainOpen])
            #expect(try t.transferStatuses([xfer(14, 1, 2, 5, flags: .linked)]) == [.linkedEventChainOpen])
        }
    }

    @Test("independent chains in one batch succeed or fail on their own", arguments: Layout.allCases)
    func independentChains(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let r = try t.transferStatuses([
                xfer(10, 1, 2, 1, flags: .linked), xfer(11, 1, 2, 2),                 // chain A: ok
                xfer(12, 1, 2, 4, flags: .linked), xfer(13, 1, 2, 8, ledger: 9),      // chain B: fails
                xfer(14, 1, 2, 16),                                                   // alone
                xfer(15, 1, 2, 32, flags: .linked), xfer(16, 1, 2, 64, flags: .linked), xfer(17, 1, 2, 128), // chain C
            ])
            #expect(r == [.created, .created, .linkedEventFailed, .transferMustHaveTheSameLedgerAsAccounts,
                          .created, .created, .created, .created])
            #expect(t.balances(1) == Balances(debitsPosted: 1 + 2 + 16 + 32 + 64 + 128))
        }
    }

    @Test("each event sees the effects of the earlier events of its chain", arguments: Layout.allCases)
    func effectsVisibleInChain(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            // Account 5 (debits_must_not_exceed_credits) is funded, then spends, in one chain.
            #expect(try t.transferStatuses([xfer(10, 1, 5, 50, flags: .linked), xfer(11, 5, 2, 50)]) == [.created, .created])
            // And when the funding is rolled back, so is the spending it allowed.
            let r = try t.transferStatuses([xfer(12, 1, 5, 50, flags: .linked), xfer(13, 5, 2, 50, flags: .linked), xfer(14, 1, 99, 1)])
            #expect(r == [.linkedEventFailed, .linkedEventFailed, .creditAccountNotFound])
            #expect(t.balances(5) == Balances(debitsPosted: 50, creditsPosted: 50))
            #expect(try t.status(xfer(15, 5, 2, 1)) == .exceedsCredits)
        }
    }

    @Test("a chain with a pending transfer and its post", arguments: Layout.allCases)
    func pendingAndPostInChain(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let ok = try t.transferStatuses([
                xfer(20, 1, 2, 100, flags: [.linked, .pending], timeout: 1), post(10, 20, 40, flags: .linked), xfer(11, 1, 3, 1),
            ])
            #expect(ok == [.created, .created, .created])
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .posted)
            #expect(t.balances(1) == Balances(debitsPosted: 41))

            let bad = try t.transferStatuses([
                xfer(21, 1, 2, 100, flags: [.linked, .pending], timeout: 1), post(12, 21, 40, flags: .linked), xfer(13, 1, 3, 1, code: 0),
            ])
            #expect(bad == [.linkedEventFailed, .linkedEventFailed, .codeMustNotBeZero])
            #expect(t.ledger.lookupTransfers([21, 12, 13]).isEmpty)
            #expect(t.balances(1) == Balances(debitsPosted: 41))
            #expect(t.balances(2) == Balances(creditsPosted: 40))
            // Posting the rolled-back pending transfer: it does not exist.
            #expect(try t.status(post(14, 21)) == .pendingTransferNotFound)
        }
    }

    @Test("a post rolled back with its chain leaves the pending transfer pending (and expiring)", arguments: Layout.allCases)
    func rolledBackPost(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, 100, flags: .pending, timeout: 1)])
            let r = try t.transferStatuses([post(10, 20, 30, flags: .linked), xfer(11, 1, 99, 1)])
            #expect(r == [.linkedEventFailed, .creditAccountNotFound])
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .pending)
            #expect(t.balances(1) == Balances(debitsPending: 100))
            t.advance(by: 2 * TestLedger.second)
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 20) == .expired)
            #expect(t.balances(1) == Balances())
            #expect(t.balances(2) == Balances())
        }
    }

    @Test("a rolled-back pending transfer with a timeout never expires anything", arguments: Layout.allCases)
    func rolledBackTimeout(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let r = try t.transferStatuses([xfer(20, 1, 2, 100, flags: [.linked, .pending], timeout: 1), xfer(11, 1, 99, 1)])
            #expect(r == [.linkedEventFailed, .creditAccountNotFound])
            // The next pending transfer without a timeout must not be expired in its place.
            try t.setupTransfers([xfer(21, 1, 2, 7, flags: .pending)])
            t.advance(by: 5 * TestLedger.second)
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 21) == .pending)
            #expect(t.balances(1) == Balances(debitsPending: 7))
        }
    }

    @Test("only the member that failed with a transient error burns its id", arguments: Layout.allCases)
    func orphanOnlyForTheFailingMember(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let r = try t.transferStatuses([
                xfer(10, 1, 2, 5, flags: .linked), xfer(11, 5, 2, 5, flags: .linked), xfer(12, 1, 99, 5),
            ])
            #expect(r == [.linkedEventFailed, .exceedsCredits, .linkedEventFailed])
            // Member 12 would have failed with a transient error, but was never executed.
            try t.setupAccounts([acct(99)])
            try t.setupTransfers([xfer(40, 1, 5, 5)])
            #expect(try t.transferStatuses([xfer(10, 1, 2, 5), xfer(12, 1, 99, 5), xfer(11, 5, 2, 5)])
                    == [.created, .created, .idAlreadyFailed])
        }
    }

    @Test("a transient failure inside a chain burns its id even though the chain is rolled back", arguments: Layout.allCases)
    func orphanSurvivesRollback(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let r = try t.transferStatuses([xfer(10, 1, 2, 5, flags: .linked), xfer(11, 1, 99, 5)])
            #expect(r == [.linkedEventFailed, .creditAccountNotFound])
            #expect(try t.transferStatuses([xfer(11, 1, 2, 5), xfer(10, 1, 2, 5)]) == [.idAlreadyFailed, .created])
        }
    }

    @Test("rolling back a long chain frees exactly its ids, among many others", arguments: Layout.allCases)
    func longChainRollback(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers((1...500).map { xfer(UInt128($0) << 64 | 1, 1, 2, 1) })
            // Transient failures interleaved, so failed ids sit among live ones in the index.
            let failed = try t.transferStatuses((1...100).map { xfer(UInt128($0) << 64 | 2, 1, 99, 1) })
            #expect(failed.allSatisfy { $0 == .creditAccountNotFound })
            var chain = (1...700).map { xfer(UInt128($0) << 64 | 3, 1, 2, 1, flags: .linked) }
            chain.append(xfer(7, 1, 2, 1, ledger: 0))
            let r = try t.transferStatuses(chain)
            #expect(r.dropLast().allSatisfy { $0 == .linkedEventFailed })
            #expect(r.last == .ledgerMustNotBeZero)
            #expect(t.ledger.lookupTransfers((1...500).map { UInt128($0) << 64 | 1 }).count == 500)
            #expect(t.ledger.lookupTransfers((1...700).map { UInt128($0) << 64 | 3 }).isEmpty)
            #expect(t.balances(1) == Balances(debitsPosted: 500))
            // The chain's ids are free, the failed ids are not, the created ones exist.
            let again = try t.transferStatuses((1...700).map { xfer(UInt128($0) << 64 | 3, 1, 2, 1) })
            #expect(again.allSatisfy { $0 == .created })
            #expect(try t.transferStatuses((1...100).map { xfer(UInt128($0) << 64 | 2, 1, 2, 1) }).allSatisfy { $0 == .idAlreadyFailed })
            #expect(try t.transferStatuses((1...500).map { xfer(UInt128($0) << 64 | 1, 1, 2, 1) }).allSatisfy { $0 == .exists })
            #expect(t.balances(1) == Balances(debitsPosted: 1200))
        }
    }

    @Test("a duplicate id inside a chain: exists breaks the chain and the first is rolled back", arguments: Layout.allCases)
    func duplicateInChain(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let T = t.next
            let r = try t.createTransfers([xfer(10, 1, 2, 5, flags: .linked), xfer(10, 1, 2, 5, flags: .linked), xfer(11, 1, 2, 5)])
            // `exists` is not `created`, so the chain fails; its result carries the timestamp
            // of the (rolled-back) first event.
            #expect(r == [CreateTransferResult(timestamp: T - 2, status: .linkedEventFailed),
                          CreateTransferResult(timestamp: T - 2, status: .exists),
                          CreateTransferResult(timestamp: T, status: .linkedEventFailed)])
            // Without the linked flag the second differs in flags.
            let s = try t.transferStatuses([xfer(10, 1, 2, 5, flags: .linked), xfer(10, 1, 2, 5)])
            #expect(s == [.linkedEventFailed, .existsWithDifferentFlags])
            #expect(t.transfer(10) == nil)
            #expect(t.balances(1) == Balances())
            #expect(try t.status(xfer(10, 1, 2, 5)) == .created)
        }
    }

    @Test("a rolled-back imported event keeps its imported timestamp in its result", arguments: Layout.allCases)
    func importedRollbackTimestamp(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let ts = t.clock + 100
            let r = try t.createTransfers([
                xfer(10, 1, 2, 5, flags: [.imported, .linked], timestamp: ts),
                xfer(11, 1, 2, 5, flags: .imported, ledger: 0, timestamp: ts + 1),
            ])
            #expect(r == [CreateTransferResult(timestamp: ts, status: .linkedEventFailed),
                          CreateTransferResult(timestamp: t.clock, status: .ledgerMustNotBeZero)])
            // The rolled-back transfer's timestamp is free again.
            #expect(try t.status(xfer(12, 1, 2, 5, flags: .imported, timestamp: ts)) == .created)
        }
    }

    @Test("rollback restores account history (get_account_balances)", arguments: Layout.allCases)
    func rollbackHistory(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupAccounts([acct(7, flags: .history)])
            try t.setupTransfers([xfer(20, 1, 7, 3)])
            #expect(try t.transferStatuses([xfer(10, 1, 7, 5, flags: .linked), xfer(11, 7, 99, 1)])
                    == [.linkedEventFailed, .creditAccountNotFound])
            let rows = t.ledger.getAccountBalances(AccountFilter(accountId: 7, limit: 10))
            #expect(rows.map { Balances($0) } == [Balances(creditsPosted: 3)])
            try t.setupTransfers([xfer(12, 1, 7, 4)])
            #expect(t.ledger.getAccountBalances(AccountFilter(accountId: 7, limit: 10)).map(\.creditsPosted) == [3, 7])
            #expect(t.ledger.getAccountTransfers(AccountFilter(accountId: 7, limit: 10)).map(\.id) == [20, 12])
        }
    }

    @Test("rollback of a closing transfer reopens the account", arguments: Layout.allCases)
    func rollbackClosing(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let r = try t.transferStatuses([xfer(30, 1, 2, 0, flags: [.linked, .pending, .closingDebit]), xfer(10, 1, 3, 5)])
            #expect(r == [.linkedEventFailed, .debitAccountAlreadyClosed])
            #expect(t.account(1)?.flags.contains(.closed) == false)
            #expect(try t.status(xfer(11, 1, 3, 5)) == .created)
        }
    }

    @Test("create_accounts chains roll back accounts and ids", arguments: Layout.allCases)
    func accountChains(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            let r = try t.accountStatuses([
                acct(1), acct(2, flags: .linked), acct(3, flags: .linked), acct(4, ledger: 0), acct(5),
            ])
            #expect(r == [.created, .linkedEventFailed, .linkedEventFailed, .ledgerMustNotBeZero, .created])
            #expect(t.ledger.lookupAccounts([1, 2, 3, 4, 5]).map(\.id) == [1, 5])
            #expect(t.ledger.accountCount == 2)
            #expect(try t.accountStatuses([acct(2), acct(3), acct(4)]) == [.created, .created, .created])

            // A duplicate inside a chain: the second is `exists`, the chain fails.
            let T = t.next
            let d = try t.createAccounts([acct(6, flags: .linked), acct(6, flags: .linked), acct(7)])
            #expect(d == [CreateAccountResult(timestamp: T - 2, status: .linkedEventFailed),
                          CreateAccountResult(timestamp: T - 2, status: .exists),
                          CreateAccountResult(timestamp: T, status: .linkedEventFailed)])
            #expect(t.ledger.lookupAccounts([6, 7]).isEmpty)

            // Open chain, and a chain that succeeds.
            #expect(try t.accountStatuses([acct(8, flags: .linked), acct(9, flags: .linked)]) == [.linkedEventFailed, .linkedEventChainOpen])
            #expect(try t.accountStatuses([acct(8, flags: .linked), acct(9)]) == [.created, .created])
            // Linked is a stored flag: re-creating without it differs.
            #expect(try t.status(acct(8)) == .existsWithDifferentFlags)
        }
    }

    @Test("a rolled-back imported account frees its timestamp", arguments: Layout.allCases)
    func accountImportRollback(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            let r = try t.accountStatuses([
                acct(1, flags: [.imported, .linked], timestamp: 100), acct(2, code: 0, flags: .imported, timestamp: 101),
            ])
            #expect(r == [.linkedEventFailed, .codeMustNotBeZero])
            #expect(try t.status(acct(3, flags: .imported, timestamp: 100)) == .created)
        }
    }
}
