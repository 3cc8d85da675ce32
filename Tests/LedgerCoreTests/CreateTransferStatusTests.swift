@testable import LedgerCore
import Testing

/// Accounts 1, 2, 3 (ledger 1), 4 (ledger 2), 5 (ledger 1, debits_must_not_exceed_credits)
/// and 6 (ledger 1, credits_must_not_exceed_debits), all created in one batch.
func transferFixture(start: UInt64 = TestLedger.start) throws -> TestLedger {
    let t = TestLedger(start: start)
    try t.setupAccounts([
        acct(1), acct(2), acct(3), acct(4, ledger: 2),
        acct(5, flags: .debitsMustNotExceedCredits), acct(6, flags: .creditsMustNotExceedDebits),
    ])
    return t
}

/// The latest timestamp `t + timeout * 1e9` may reach (the reference keeps timestamps in u63).
let timeoutEdge: UInt64 = UInt64(Int64.max) - UInt64(UInt32.max) * 1_000_000_000

/// Every `CreateTransferStatus`, produced the way the reference (TigerBeetle 0.17.8,
/// `state_machine.zig` `execute_create` / `create_transfer` / `create_transfer_exists` /
/// `post_or_void_pending_transfer` / `post_or_void_pending_transfer_exists`) does.
@Suite("create_transfers status codes")
struct CreateTransferStatusTests {
    /// Transfer 10 (1 -> 2, 5, user data 7/8/9) already exists.
    static func withTransfer10() throws -> TestLedger {
        let t = try transferFixture()
        try t.setupTransfers([xfer(10, 1, 2, 5, userData128: 7, userData64: 8, userData32: 9)])
        return t
    }

    static func transfer10(_ change: (inout Transfer) -> Void = { _ in }) -> Transfer {
        var x = xfer(10, 1, 2, 5, userData128: 7, userData64: 8, userData32: 9)
        change(&x)
        return x
    }

    /// Pending transfer 20 (1 -> 2, 5) exists.
    static func withPending20(timeout: UInt32 = 0) throws -> TestLedger {
        let t = try transferFixture()
        try t.setupTransfers([xfer(20, 1, 2, 5, flags: .pending, timeout: timeout)])
        return t
    }

    /// An imported timestamp after the fixture's accounts and before the next batch.
    static func importTimestamp(_ t: TestLedger) -> UInt64 { t.clock + 100 }

    static let scenarios: [StatusScenario<CreateTransferStatus>] = [
        .init(.created) { try transferFixture().status(xfer(10, 1, 2, 5)) },
        .init(.created, "zero amount") { try transferFixture().status(xfer(10, 1, 2, 0)) },
        .init(.linkedEventFailed) {
            try transferFixture().transferStatuses([xfer(10, 1, 2, 5, flags: .linked), xfer(11, 1, 2, 5, ledger: 0)])[0]
        },
        .init(.linkedEventChainOpen) {
            try transferFixture().transferStatuses([xfer(10, 1, 2, 5), xfer(11, 1, 2, 5, flags: .linked)])[1]
        },
        .init(.importedEventExpected) {
            let t = try transferFixture()
            return try t.transferStatuses([
                xfer(10, 1, 2, 5, flags: .imported, timestamp: importTimestamp(t)), xfer(11, 1, 2, 5),
            ])[1]
        },
        .init(.importedEventNotExpected) {
            let t = try transferFixture()
            return try t.transferStatuses([
                xfer(10, 1, 2, 5), xfer(11, 1, 2, 5, flags: .imported, timestamp: importTimestamp(t)),
            ])[1]
        },
        .init(.timestampMustBeZero) { try transferFixture().status(xfer(10, 1, 2, 5, timestamp: 1)) },
        .init(.importedEventTimestampOutOfRange, "zero") {
            try transferFixture().status(xfer(10, 1, 2, 5, flags: .imported, timestamp: 0))
        },
        .init(.importedEventTimestampOutOfRange, "2^63") {
            try transferFixture().status(xfer(10, 1, 2, 5, flags: .imported, timestamp: UInt64(Int64.max) + 1))
        },
        .init(.importedEventTimestampMustNotAdvance) {
            let t = try transferFixture()
            return try t.status(xfer(10, 1, 2, 5, flags: .imported, timestamp: t.next))
        },
        .init(.reservedFlag) {
            try transferFixture().status(xfer(10, 1, 2, 5, flags: TransferFlags(rawValue: 1 << 9)))
        },
        .init(.idMustNotBeZero) { try transferFixture().status(xfer(0, 1, 2, 5)) },
        .init(.idMustNotBeIntMax) { try transferFixture().status(xfer(.max, 1, 2, 5)) },
        .init(.existsWithDifferentFlags) { try withTransfer10().status(transfer10 { $0.flags = .pending }) },
        .init(.existsWithDifferentPendingId) { try withTransfer10().status(transfer10 { $0.pendingId = 3 }) },
        .init(.existsWithDifferentTimeout) { try withTransfer10().status(transfer10 { $0.timeout = 3 }) },
        .init(.existsWithDifferentDebitAccountId) { try withTransfer10().status(transfer10 { $0.debitAccountId = 3 }) },
        .init(.existsWithDifferentCreditAccountId) { try withTransfer10().status(transfer10 { $0.creditAccountId = 3 }) },
        .init(.existsWithDifferentAmount) { try withTransfer10().status(transfer10 { $0.amount = 6 }) },
        .init(.existsWithDifferentUserData128) { try withTransfer10().status(transfer10 { $0.userData128 = 0 }) },
        .init(.existsWithDifferentUserData64) { try withTransfer10().status(transfer10 { $0.userData64 = 0 }) },
        .init(.existsWithDifferentUserData32) { try withTransfer10().status(transfer10 { $0.userData32 = 0 }) },
        .init(.existsWithDifferentLedger) { try withTransfer10().status(transfer10 { $0.ledger = 2 }) },
        .init(.existsWithDifferentCode) { try withTransfer10().status(transfer10 { $0.code = 2 }) },
        .init(.exists) { try withTransfer10().status(transfer10()) },
        .init(.idAlreadyFailed) {
            let t = try transferFixture()
            #expect(try t.status(xfer(10, 1, 99, 5)) == .creditAccountNotFound)
            return try t.status(xfer(10, 1, 2, 5))
        },
        .init(.flagsAreMutuallyExclusive, "post + void") {
            try withPending20().status(post(10, 20, flags: .voidPendingTransfer))
        },
        .init(.flagsAreMutuallyExclusive, "post + pending") { try withPending20().status(post(10, 20, flags: .pending)) },
        .init(.flagsAreMutuallyExclusive, "void + balancing_debit") {
            try withPending20().status(void(10, 20, flags: .balancingDebit))
        },
        .init(.flagsAreMutuallyExclusive, "void + balancing_credit") {
            try withPending20().status(void(10, 20, flags: .balancingCredit))
        },
        .init(.flagsAreMutuallyExclusive, "post + closing_debit") {
            try withPending20().status(post(10, 20, flags: .closingDebit))
        },
        .init(.flagsAreMutuallyExclusive, "void + closing_credit") {
            try withPending20().status(void(10, 20, flags: .closingCredit))
        },
        .init(.debitAccountIdMustNotBeZero) { try transferFixture().status(xfer(10, 0, 2, 5)) },
        .init(.debitAccountIdMustNotBeIntMax) { try transferFixture().status(xfer(10, .max, 2, 5)) },
        .init(.creditAccountIdMustNotBeZero) { try transferFixture().status(xfer(10, 1, 0, 5)) },
        .init(.creditAccountIdMustNotBeIntMax) { try transferFixture().status(xfer(10, 1, .max, 5)) },
        .init(.accountsMustBeDifferent) { try transferFixture().status(xfer(10, 1, 1, 5)) },
        .init(.pendingIdMustBeZero) { try withPending20().status(xfer(10, 1, 2, 5, pendingId: 20)) },
        .init(.pendingIdMustNotBeZero) { try withPending20().status(post(10, 0)) },
        .init(.pendingIdMustNotBeIntMax) { try withPending20().status(post(10, .max)) },
        .init(.pendingIdMustBeDifferent) { try withPending20().status(post(10, 10)) },
        .init(.timeoutReservedForPendingTransfer, "plain") {
            try transferFixture().status(xfer(10, 1, 2, 5, timeout: 1))
        },
        .init(.timeoutReservedForPendingTransfer, "post") {
            var p = post(10, 20)
            p.timeout = 1
            return try withPending20().status(p)
        },
        .init(.closingTransferMustBePending, "closing_debit") {
            try transferFixture().status(xfer(10, 1, 2, 5, flags: .closingDebit))
        },
        .init(.closingTransferMustBePending, "closing_credit") {
            try transferFixture().status(xfer(10, 1, 2, 5, flags: .closingCredit))
        },
        .init(.ledgerMustNotBeZero) { try transferFixture().status(xfer(10, 1, 2, 5, ledger: 0)) },
        .init(.codeMustNotBeZero) { try transferFixture().status(xfer(10, 1, 2, 5, code: 0)) },
        .init(.debitAccountNotFound) { try transferFixture().status(xfer(10, 99, 2, 5)) },
        .init(.creditAccountNotFound) { try transferFixture().status(xfer(10, 1, 99, 5)) },
        .init(.accountsMustHaveTheSameLedger) { try transferFixture().status(xfer(10, 1, 4, 5)) },
        .init(.transferMustHaveTheSameLedgerAsAccounts) { try transferFixture().status(xfer(10, 1, 2, 5, ledger: 2)) },
        .init(.pendingTransferNotFound) { try transferFixture().status(post(10, 99)) },
        .init(.pendingTransferNotPending) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, 5)])
            return try t.status(post(10, 20))
        },
        .init(.pendingTransferHasDifferentDebitAccountId) {
            var p = post(10, 20)
            p.debitAccountId = 3
            return try withPending20().status(p)
        },
        .init(.pendingTransferHasDifferentCreditAccountId) {
            var p = post(10, 20)
            p.creditAccountId = 3
            return try withPending20().status(p)
        },
        .init(.pendingTransferHasDifferentLedger) {
            var p = post(10, 20)
            p.ledger = 2
            return try withPending20().status(p)
        },
        .init(.pendingTransferHasDifferentCode) {
            var p = void(10, 20)
            p.code = 2
            return try withPending20().status(p)
        },
        .init(.exceedsPendingTransferAmount, "post") { try withPending20().status(post(10, 20, 6)) },
        .init(.exceedsPendingTransferAmount, "void") { try withPending20().status(void(10, 20, 6)) },
        .init(.pendingTransferHasDifferentAmount) { try withPending20().status(void(10, 20, 4)) },
        .init(.pendingTransferAlreadyPosted) {
            let t = try withPending20()
            try t.setupTransfers([post(10, 20)])
            return try t.status(void(11, 20))
        },
        .init(.pendingTransferAlreadyVoided) {
            let t = try withPending20()
            try t.setupTransfers([void(10, 20)])
            return try t.status(post(11, 20))
        },
        .init(.pendingTransferExpired) {
            let t = try withPending20(timeout: 1)
            t.advance(by: 2 * TestLedger.second)
            return try t.status(post(10, 20))
        },
        .init(.importedEventTimestampMustNotRegress, "not after the last transfer") {
            let t = try transferFixture()
            let ts = importTimestamp(t)
            try t.setupTransfers([xfer(10, 1, 2, 5, flags: .imported, timestamp: ts)])
            return try t.status(xfer(11, 1, 2, 5, flags: .imported, timestamp: ts))
        },
        .init(.importedEventTimestampMustNotRegress, "equal to an account's timestamp") {
            let t = TestLedger()
            try t.setupAccounts([acct(1)])
            try t.setupAccounts([acct(2)])
            try t.setupAccounts([acct(3)])
            // After both accounts of the transfer, but account 3 holds this timestamp.
            let ts = try #require(t.account(3)?.timestamp)
            return try t.status(xfer(10, 1, 2, 5, flags: .imported, timestamp: ts))
        },
        .init(.importedEventTimestampMustPostdateDebitAccount) {
            let t = try transferFixture()
            let ts = importTimestamp(t)
            try t.setupAccounts([acct(7)])
            return try t.status(xfer(10, 7, 1, 5, flags: .imported, timestamp: ts))
        },
        .init(.importedEventTimestampMustPostdateCreditAccount) {
            let t = try transferFixture()
            let ts = importTimestamp(t)
            try t.setupAccounts([acct(7)])
            return try t.status(xfer(10, 1, 7, 5, flags: .imported, timestamp: ts))
        },
        .init(.importedEventTimeoutMustBeZero) {
            let t = try transferFixture()
            return try t.status(xfer(10, 1, 2, 5, flags: [.imported, .pending], timeout: 1, timestamp: importTimestamp(t)))
        },
        .init(.debitAccountAlreadyClosed) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 1, 2, 0, flags: [.pending, .closingDebit])])
            return try t.status(xfer(10, 1, 3, 5))
        },
        .init(.creditAccountAlreadyClosed) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 2, 1, 0, flags: [.pending, .closingCredit])])
            return try t.status(xfer(10, 3, 1, 5))
        },
        .init(.overflowsDebitsPending) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max, flags: .pending)])
            return try t.status(xfer(10, 1, 3, 1, flags: .pending))
        },
        .init(.overflowsCreditsPending) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max, flags: .pending)])
            return try t.status(xfer(10, 3, 2, 1, flags: .pending))
        },
        .init(.overflowsDebitsPosted) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max)])
            return try t.status(xfer(10, 1, 3, 1))
        },
        .init(.overflowsCreditsPosted) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max)])
            return try t.status(xfer(10, 3, 2, 1))
        },
        .init(.overflowsDebits) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max, flags: .pending)])
            return try t.status(xfer(10, 1, 3, 1))
        },
        .init(.overflowsCredits) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max, flags: .pending)])
            return try t.status(xfer(10, 3, 2, 1))
        },
        .init(.overflowsTimeout) {
            let t = try transferFixture(start: timeoutEdge - 10 * TestLedger.step)
            t.setNext(timeoutEdge + 1)
            return try t.status(xfer(10, 1, 2, 5, flags: .pending, timeout: .max))
        },
        .init(.exceedsCredits) { try transferFixture().status(xfer(10, 5, 1, 1)) },
        .init(.exceedsDebits) { try transferFixture().status(xfer(10, 1, 6, 1)) },
    ]

    @Test(arguments: Layout.allCases, scenarios)
    func status(layout: Layout, _ scenario: StatusScenario<CreateTransferStatus>) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            #expect(try scenario.run() == scenario.expected)
        }
    }

    @Test("every CreateTransferStatus is produced by a scenario", arguments: Layout.allCases)
    func coverage(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            var produced = Set<CreateTransferStatus>()
            for scenario in Self.scenarios {
                let status = try scenario.run()
                #expect(status == scenario.expected, "\(scenario.testDescription)")
                produced.insert(status)
            }
            let missing = CreateTransferStatus.allCases.filter { !produced.contains($0) }
            #expect(missing.isEmpty, "not produced: \(missing)")
            #expect(produced.count == CreateTransferStatus.allCases.count)
        }
    }

    @Test("raw values are the reference's wire codes; 18 (amount_must_not_be_zero) is absent")
    func wireCodes() {
        #expect(CreateTransferStatus(rawValue: 18) == nil)
        #expect(CreateTransferStatus.created.rawValue == UInt32.max)
        #expect(CreateTransferStatus.existsWithDifferentLedger.rawValue == 67)
        #expect(CreateTransferStatus.idAlreadyFailed.rawValue == 68)
        #expect(CreateTransferStatus.closingTransferMustBePending.rawValue == 64)
        #expect(CreateTransferStatus.overflowsTimeout.rawValue == 53)
        #expect(CreateTransferStatus.exceedsDebits.rawValue == 55)
        let codes = Set(CreateTransferStatus.allCases.filter { $0 != .created }.map(\.rawValue))
        #expect(codes == Set(1...68).subtracting([18]))
    }

    @Test("exactly the seven reference transient codes are transient")
    func transientSet() {
        let transient = Set(CreateTransferStatus.allCases.filter { $0 != .created && $0.isTransient })
        #expect(transient == [
            .debitAccountNotFound, .creditAccountNotFound, .pendingTransferNotFound,
            .exceedsCredits, .exceedsDebits, .debitAccountAlreadyClosed, .creditAccountAlreadyClosed,
        ])
    }
}

@Suite("create_transfers results")
struct CreateTransferResultTests {
    @Test("zero-amount transfers are created (amount_must_not_be_zero is deprecated)", arguments: Layout.allCases)
    func zeroAmount(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.transferStatuses([xfer(10, 1, 2, 0), xfer(11, 1, 2, 0, flags: .pending)]) == [.created, .created])
            #expect(t.transfer(10)?.amount == 0)
            #expect(t.balances(1) == Balances())
            #expect(t.balances(2) == Balances())
            #expect(t.ledger.pendingStatus(ofTransfer: 11) == .pending)
            #expect(try t.status(post(12, 11)) == .created)
            #expect(t.transfer(12)?.amount == 0)
        }
    }

    @Test("timestamps: created gets its event time, exists the original's, errors the event time", arguments: Layout.allCases)
    func timestamps(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let T1 = t.next
            let first = try t.createTransfers([xfer(10, 1, 2, 5), xfer(11, 1, 2, 5)])
            #expect(first == [
                CreateTransferResult(timestamp: T1 - 1, status: .created),
                CreateTransferResult(timestamp: T1, status: .created),
            ])
            #expect(t.transfer(10)?.timestamp == T1 - 1)
            let T2 = t.next
            let second = try t.createTransfers([xfer(11, 1, 2, 5), xfer(10, 1, 2, 6), xfer(12, 1, 99, 5)])
            #expect(second == [
                CreateTransferResult(timestamp: T1, status: .exists),
                CreateTransferResult(timestamp: T2 - 1, status: .existsWithDifferentAmount),
                CreateTransferResult(timestamp: T2, status: .creditAccountNotFound),
            ])
        }
    }

    @Test("imported transfers keep their timestamp; exists reports it", arguments: Layout.allCases)
    func importedTimestamps(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let ts = t.clock + 100
            let r = try t.createTransfers([xfer(10, 1, 2, 5, flags: .imported, timestamp: ts),
                                           xfer(11, 1, 2, 5, flags: .imported, timestamp: ts + 1)])
            #expect(r == [CreateTransferResult(timestamp: ts, status: .created),
                          CreateTransferResult(timestamp: ts + 1, status: .created)])
            #expect(t.transfer(11)?.timestamp == ts + 1)
            // Re-importing: the idempotency check runs before the regress check.
            let again = try t.createTransfers([xfer(10, 1, 2, 5, flags: .imported, timestamp: ts)])
            #expect(again == [CreateTransferResult(timestamp: ts, status: .exists)])
            let otherTs = try t.createTransfers([xfer(10, 1, 2, 5, flags: .imported, timestamp: ts + 50)])
            #expect(otherTs == [CreateTransferResult(timestamp: ts, status: .exists)])
        }
    }

    @Test("an imported pending transfer (no timeout) can be posted by an imported post", arguments: Layout.allCases)
    func importedTwoPhase(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let ts = t.clock + 100
            try t.setupTransfers([xfer(20, 1, 2, 9, flags: [.imported, .pending], timestamp: ts)])
            // An imported post must still be after the last transfer.
            #expect(try t.status(post(10, 20, flags: .imported).with { $0.timestamp = ts }) == .importedEventTimestampMustNotRegress)
            #expect(try t.status(post(10, 20, 4, flags: .imported).with { $0.timestamp = ts + 1 }) == .created)
            #expect(t.transfer(10)?.timestamp == ts + 1)
            #expect(t.balances(1) == Balances(debitsPosted: 4))
        }
    }

    @Test("the stored transfer copies the request, with the actual amount and timestamp", arguments: Layout.allCases)
    func storedFields(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(10, 1, 2, 5, flags: .pending, timeout: 60, ledger: 1, code: 3,
                                       userData128: 4, userData64: 5, userData32: 6)])
            let x = try #require(t.transfer(10))
            #expect(x.debitAccountId == 1 && x.creditAccountId == 2 && x.amount == 5 && x.timeout == 60)
            #expect(x.code == 3 && x.userData128 == 4 && x.userData64 == 5 && x.userData32 == 6)
            #expect(x.flags == .pending && x.pendingId == 0 && x.timestamp == t.clock)
        }
    }
}

extension Transfer {
    func with(_ change: (inout Transfer) -> Void) -> Transfer {
        var copy = self
        change(&copy)
        return copy
    }
}

// MARK: - Transient errors and id_already_failed

/// A transient failure, the state change that would let the same transfer succeed, and the
/// transfer itself.
struct TransientCase: Sendable, CustomTestStringConvertible {
    let status: CreateTransferStatus
    let setup: @Sendable (TestLedger) throws -> Void
    let failing: @Sendable (UInt128) -> Transfer
    let fix: @Sendable (TestLedger) throws -> Void
    var testDescription: String { "\(status)" }
}

@Suite("transient errors burn the id (id_already_failed)")
struct TransientErrorTests {
    static let cases: [TransientCase] = [
        TransientCase(status: .debitAccountNotFound, setup: { _ in },
                      failing: { xfer($0, 99, 2, 5) }, fix: { try $0.setupAccounts([acct(99)]) }),
        TransientCase(status: .creditAccountNotFound, setup: { _ in },
                      failing: { xfer($0, 1, 99, 5) }, fix: { try $0.setupAccounts([acct(99)]) }),
        TransientCase(status: .pendingTransferNotFound, setup: { _ in },
                      failing: { post($0, 50) },
                      fix: { try $0.setupTransfers([xfer(50, 1, 2, 5, flags: .pending)]) }),
        TransientCase(status: .exceedsCredits, setup: { _ in },
                      failing: { xfer($0, 5, 1, 5) }, fix: { try $0.setupTransfers([xfer(40, 1, 5, 5)]) }),
        TransientCase(status: .exceedsDebits, setup: { _ in },
                      failing: { xfer($0, 1, 6, 5) }, fix: { try $0.setupTransfers([xfer(40, 6, 1, 5)]) }),
        TransientCase(status: .debitAccountAlreadyClosed,
                      setup: { try $0.setupTransfers([xfer(30, 1, 2, 0, flags: [.pending, .closingDebit])]) },
                      failing: { xfer($0, 1, 3, 5) }, fix: { try $0.setupTransfers([void(31, 30)]) }),
        TransientCase(status: .creditAccountAlreadyClosed,
                      setup: { try $0.setupTransfers([xfer(30, 2, 1, 0, flags: [.pending, .closingCredit])]) },
                      failing: { xfer($0, 3, 1, 5) }, fix: { try $0.setupTransfers([void(31, 30)]) }),
    ]

    @Test(arguments: Layout.allCases, cases)
    func idAlreadyFailedAfter(layout: Layout, _ c: TransientCase) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try c.setup(t)
            #expect(try t.status(c.failing(10)) == c.status)
            #expect(t.transfer(10) == nil)
            #expect(t.ledger.pendingStatus(ofTransfer: 10) == nil)
            // Even before the state changes, and within one batch.
            #expect(try t.transferStatuses([c.failing(10), c.failing(11)]) == [.idAlreadyFailed, c.status])
            try c.fix(t)
            // The same request would now succeed, but its id failed for good.
            #expect(try t.status(c.failing(10)) == .idAlreadyFailed)
            #expect(try t.status(c.failing(11)) == .idAlreadyFailed)
            #expect(try t.status(c.failing(12)) == .created)
            #expect(t.transfer(10) == nil)
        }
    }

    @Test("id_already_failed comes right after the exists checks", arguments: Layout.allCases)
    func idAlreadyFailedPrecedence(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(10, 1, 99, 5)) == .creditAccountNotFound)
            // Any later request with this id: flags, ids, ledger... are not looked at.
            #expect(try t.status(post(10, 0, flags: .voidPendingTransfer)) == .idAlreadyFailed)
            #expect(try t.status(xfer(10, 0, 0, 5, ledger: 0, code: 0)) == .idAlreadyFailed)
            // Checks before the id lookup still win.
            #expect(try t.status(xfer(10, 1, 2, 5, flags: TransferFlags(rawValue: 1 << 12))) == .reservedFlag)
            #expect(try t.status(xfer(10, 1, 2, 5, timestamp: 3)) == .timestampMustBeZero)
        }
    }

    @Test("a failed id is not a transfer: lookups skip it and post/void cannot reference it", arguments: Layout.allCases)
    func orphanIsInvisible(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(20, 1, 99, 5, flags: .pending)) == .creditAccountNotFound)
            #expect(t.ledger.lookupTransfers([20]).isEmpty)
            #expect(t.ledger.transferCount == 0)
            #expect(try t.status(post(10, 20)) == .pendingTransferNotFound)
            #expect(try t.status(void(11, 20)) == .pendingTransferNotFound)
            #expect(t.ledger.queryTransfers(QueryFilter(limit: 10)).isEmpty)
        }
    }

    /// Failures that do not depend on changing state leave the id free.
    static let nonTransient: [StatusScenario<CreateTransferStatus>] = [
        .init(.ledgerMustNotBeZero) {
            let t = try transferFixture()
            #expect(try t.status(xfer(10, 1, 2, 5, ledger: 0)) == .ledgerMustNotBeZero)
            return try t.status(xfer(10, 1, 2, 5))
        },
        .init(.accountsMustHaveTheSameLedger) {
            let t = try transferFixture()
            #expect(try t.status(xfer(10, 1, 4, 5)) == .accountsMustHaveTheSameLedger)
            return try t.status(xfer(10, 1, 2, 5))
        },
        .init(.exceedsPendingTransferAmount) {
            let t = try CreateTransferStatusTests.withPending20()
            #expect(try t.status(post(10, 20, 6)) == .exceedsPendingTransferAmount)
            return try t.status(post(10, 20, 5))
        },
        .init(.pendingTransferExpired) {
            let t = try CreateTransferStatusTests.withPending20(timeout: 1)
            t.advance(by: 2 * TestLedger.second)
            #expect(try t.status(post(10, 20)) == .pendingTransferExpired)
            return try t.status(xfer(10, 1, 2, 5))
        },
        .init(.overflowsDebitsPosted) {
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max)])
            #expect(try t.status(xfer(10, 1, 3, 1)) == .overflowsDebitsPosted)
            return try t.status(xfer(10, 3, 1, 1))
        },
        .init(.linkedEventFailed) {
            let t = try transferFixture()
            #expect(try t.transferStatuses([xfer(10, 1, 2, 5, flags: .linked), xfer(11, 1, 99, 5)])
                    == [.linkedEventFailed, .creditAccountNotFound])
            return try t.status(xfer(10, 1, 2, 5))
        },
    ]

    @Test("non-transient failures do not burn the id", arguments: Layout.allCases, nonTransient)
    func nonTransientKeepsId(layout: Layout, _ scenario: StatusScenario<CreateTransferStatus>) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            #expect(try scenario.run() == .created)
        }
    }
}

// MARK: - Post/void idempotency

@Suite("exists for post/void transfers")
struct PostVoidExistsTests {
    /// Pending 20, 21, 22 (1 -> 2, 100, user data 7/8/9); 20 posted by 10 (60, user data
    /// inherited), 21 posted in full by 11 (amount max), 22 voided by 12 (amount 0).
    static func setup() throws -> TestLedger {
        let t = try transferFixture()
        try t.setupTransfers([20, 21, 22].map {
            xfer($0, 1, 2, 100, flags: .pending, userData128: 7, userData64: 8, userData32: 9)
        })
        try t.setupTransfers([post(10, 20, 60), post(11, 21), void(12, 22)])
        return t
    }

    @Test("the stored post/void takes accounts, ledger, code and zero user data from the pending", arguments: Layout.allCases)
    func storedFields(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            let p10 = try #require(t.transfer(10))
            #expect(p10.debitAccountId == 1 && p10.creditAccountId == 2 && p10.amount == 60)
            #expect(p10.ledger == 1 && p10.code == 1 && p10.timeout == 0 && p10.pendingId == 20)
            #expect(p10.userData128 == 7 && p10.userData64 == 8 && p10.userData32 == 9)
            #expect(t.transfer(11)?.amount == 100)
            #expect(t.transfer(12)?.amount == 100)
            #expect(t.balances(1) == Balances(debitsPosted: 160))
        }
    }

    @Test("identical resubmission: exists with the original timestamp", arguments: Layout.allCases)
    func exists(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            let original = try #require(t.transfer(10)?.timestamp)
            let r = try t.createTransfers([post(10, 20, 60)])
            #expect(r == [CreateTransferResult(timestamp: original, status: .exists)])
        }
    }

    @Test("zero fields, or the stored values, match", arguments: Layout.allCases)
    func explicitFields(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            let full = Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 60, pendingId: 20,
                                userData128: 7, userData64: 8, userData32: 9, ledger: 1, code: 1,
                                flags: .postPendingTransfer)
            #expect(try t.status(full) == .exists)
        }
    }

    @Test("flags, pending_id and timeout are compared first", arguments: Layout.allCases)
    func flagsPendingIdTimeout(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            #expect(try t.status(void(10, 20, 60)) == .existsWithDifferentFlags)
            #expect(try t.status(post(10, 21, 60)) == .existsWithDifferentPendingId)
            #expect(try t.status(post(10, 20, 60).with { $0.timeout = 1 }) == .existsWithDifferentTimeout)
        }
    }

    @Test("debit/credit account ids: zero matches, others must equal the stored ones", arguments: Layout.allCases)
    func accountIds(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            #expect(try t.status(post(10, 20, 60).with { $0.debitAccountId = 3 }) == .existsWithDifferentDebitAccountId)
            #expect(try t.status(post(10, 20, 60).with { $0.creditAccountId = 3 }) == .existsWithDifferentCreditAccountId)
            // Checked before the amount.
            #expect(try t.status(post(10, 20, 1).with { $0.creditAccountId = 3 }) == .existsWithDifferentCreditAccountId)
        }
    }

    @Test("partial post: the amount must equal the posted amount; max means the pending amount", arguments: Layout.allCases)
    func partialPostAmount(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            #expect(try t.status(post(10, 20, 61)) == .existsWithDifferentAmount)
            #expect(try t.status(post(10, 20, 100)) == .existsWithDifferentAmount)
            #expect(try t.status(post(10, 20, .max)) == .existsWithDifferentAmount)
            #expect(try t.status(post(10, 20, 0)) == .existsWithDifferentAmount)
        }
    }

    @Test("full post: max or the pending amount match; more than it does not (code over docs)", arguments: Layout.allCases)
    func fullPostAmount(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            #expect(try t.status(post(11, 21, .max)) == .exists)
            #expect(try t.status(post(11, 21, 100)) == .exists)
            // create_transfers.md says "greater than or equal to the pending amount" gives exists;
            // post_or_void_pending_transfer_exists compares t.amount == e.amount unless it is max.
            #expect(try t.status(post(11, 21, 101)) == .existsWithDifferentAmount)
            #expect(try t.status(post(11, 21, 99)) == .existsWithDifferentAmount)
        }
    }

    @Test("void: zero or the pending amount match", arguments: Layout.allCases)
    func voidAmount(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            #expect(try t.status(void(12, 22, 0)) == .exists)
            #expect(try t.status(void(12, 22, 100)) == .exists)
            #expect(try t.status(void(12, 22, 99)) == .existsWithDifferentAmount)
            #expect(try t.status(void(12, 22, .max)) == .existsWithDifferentAmount)
        }
    }

    @Test("user data: zero compares the pending's value with the stored one", arguments: Layout.allCases)
    func userData(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, 100, flags: .pending, userData128: 7, userData64: 8, userData32: 9)])
            // Post 10 overrides every user data field.
            try t.setupTransfers([post(10, 20, 50).with {
                $0.userData128 = 17
                $0.userData64 = 18
                $0.userData32 = 19
            }])
            #expect(t.transfer(10)?.userData128 == 17)
            let full = post(10, 20, 50).with {
                $0.userData128 = 17
                $0.userData64 = 18
                $0.userData32 = 19
            }
            #expect(try t.status(full) == .exists)
            // Zero means "the pending's", which is not what was stored.
            #expect(try t.status(full.with { $0.userData128 = 0 }) == .existsWithDifferentUserData128)
            #expect(try t.status(full.with { $0.userData64 = 0 }) == .existsWithDifferentUserData64)
            #expect(try t.status(full.with { $0.userData32 = 0 }) == .existsWithDifferentUserData32)
            #expect(try t.status(full.with { $0.userData128 = 7 }) == .existsWithDifferentUserData128)

            // Post 11 inherited the pending's user data: zero and the pending's values both match.
            try t.setupTransfers([xfer(21, 1, 2, 100, flags: .pending, userData128: 7, userData64: 8, userData32: 9)])
            try t.setupTransfers([post(11, 21, 50)])
            #expect(try t.status(post(11, 21, 50)) == .exists)
            #expect(try t.status(post(11, 21, 50).with { $0.userData128 = 7 }) == .exists)
            #expect(try t.status(post(11, 21, 50).with { $0.userData64 = 1 }) == .existsWithDifferentUserData64)
        }
    }

    @Test("ledger and code: zero matches, others must equal the stored ones", arguments: Layout.allCases)
    func ledgerCode(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            #expect(try t.status(post(10, 20, 60).with { $0.ledger = 1; $0.code = 1 }) == .exists)
            #expect(try t.status(post(10, 20, 60).with { $0.ledger = 2 }) == .existsWithDifferentLedger)
            #expect(try t.status(post(10, 20, 60).with { $0.code = 2 }) == .existsWithDifferentCode)
            #expect(try t.status(post(10, 20, 60).with { $0.ledger = 2; $0.code = 2 }) == .existsWithDifferentLedger)
        }
    }

    @Test("exists is reported even after the pending was resolved or the account closed", arguments: Layout.allCases)
    func existsAfterStateChanges(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try Self.setup()
            try t.setupTransfers([xfer(30, 1, 2, 0, flags: [.pending, .closingDebit])])
            #expect(try t.status(post(10, 20, 60)) == .exists)
            #expect(try t.status(void(12, 22)) == .exists)
        }
    }
}

// MARK: - Balancing transfers

@Suite("balancing_debit / balancing_credit")
struct BalancingTests {
    @Test("balancing_debit moves at most credits_posted - (debits_posted + debits_pending)", arguments: Layout.allCases)
    func balancingDebit(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 2, 1, 100)])  // account 1: credits_posted 100
            let r = try t.createTransfers([xfer(10, 1, 3, 1000, flags: .balancingDebit)])
            #expect(r[0].status == .created)
            #expect(t.transfer(10)?.amount == 100)
            #expect(t.balances(1) == Balances(debitsPosted: 100, creditsPosted: 100))
            #expect(t.balances(3) == Balances(creditsPosted: 100))
            // Nothing left to balance: a zero-amount transfer is created.
            #expect(try t.status(xfer(11, 1, 3, 50, flags: .balancingDebit)) == .created)
            #expect(t.transfer(11)?.amount == 0)

            // exists: the request's amount is an upper bound on the stored amount.
            #expect(try t.createTransfers([xfer(10, 1, 3, 1000, flags: .balancingDebit)])
                    == [CreateTransferResult(timestamp: r[0].timestamp, status: .exists)])
            #expect(try t.status(xfer(10, 1, 3, 100, flags: .balancingDebit)) == .exists)
            #expect(try t.status(xfer(10, 1, 3, .max, flags: .balancingDebit)) == .exists)
            #expect(try t.status(xfer(10, 1, 3, 99, flags: .balancingDebit)) == .existsWithDifferentAmount)
            #expect(try t.status(xfer(10, 1, 3, 0, flags: .balancingDebit)) == .existsWithDifferentAmount)
            #expect(try t.status(xfer(11, 1, 3, 0, flags: .balancingDebit)) == .exists)
        }
    }

    @Test("the requested amount caps the balancing amount; zero moves zero", arguments: Layout.allCases)
    func amountIsUpperBound(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 2, 1, 100)])
            try t.setupTransfers([xfer(10, 1, 3, 30, flags: .balancingDebit), xfer(11, 1, 3, 0, flags: .balancingDebit)])
            #expect(t.transfer(10)?.amount == 30)
            #expect(t.transfer(11)?.amount == 0)
            #expect(t.balances(1) == Balances(debitsPosted: 30, creditsPosted: 100))
        }
    }

    @Test("pending debits count against the balancing room", arguments: Layout.allCases)
    func pendingCounts(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 2, 1, 100), xfer(21, 1, 2, 40, flags: .pending)])
            try t.setupTransfers([xfer(10, 1, 3, .max, flags: .balancingDebit)])
            #expect(t.transfer(10)?.amount == 60)
            try t.setupTransfers([void(22, 21)])
            #expect(t.balances(1) == Balances(debitsPosted: 60, creditsPosted: 100))
        }
    }

    @Test("balancing_credit moves at most debits_posted - (credits_posted + credits_pending)", arguments: Layout.allCases)
    func balancingCredit(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            // Account 2: debits_posted 50, credits_posted 20, credits_pending 10.
            try t.setupTransfers([xfer(20, 2, 3, 50), xfer(21, 3, 2, 20), xfer(22, 3, 2, 10, flags: .pending)])
            try t.setupTransfers([xfer(10, 1, 2, 1000, flags: .balancingCredit)])
            #expect(t.transfer(10)?.amount == 20)
            #expect(t.balances(2) == Balances(debitsPosted: 50, creditsPending: 10, creditsPosted: 40))
            #expect(try t.status(xfer(10, 1, 2, 20, flags: .balancingCredit)) == .exists)
            #expect(try t.status(xfer(10, 1, 2, 19, flags: .balancingCredit)) == .existsWithDifferentAmount)
        }
    }

    @Test("both flags: the smaller room wins", arguments: Layout.allCases)
    func both(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 3, 1, 70), xfer(21, 2, 3, 40)])  // 1: credits 70; 2: debits 40
            try t.setupTransfers([xfer(10, 1, 2, 1000, flags: [.balancingDebit, .balancingCredit])])
            #expect(t.transfer(10)?.amount == 40)
            try t.setupTransfers([xfer(22, 2, 3, 100)])  // 2: debits 140 -> room 100; 1 room 30
            try t.setupTransfers([xfer(11, 1, 2, 1000, flags: [.balancingDebit, .balancingCredit])])
            #expect(t.transfer(11)?.amount == 30)
        }
    }

    @Test("balancing pending transfer reserves the actual amount", arguments: Layout.allCases)
    func pendingBalancing(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 2, 1, 100)])
            try t.setupTransfers([xfer(10, 1, 3, 500, flags: [.pending, .balancingDebit])])
            #expect(t.transfer(10)?.amount == 100)
            #expect(t.balances(1) == Balances(debitsPending: 100, creditsPosted: 100))
            try t.setupTransfers([post(11, 10)])
            #expect(t.transfer(11)?.amount == 100)
            #expect(t.balances(1) == Balances(debitsPosted: 100, creditsPosted: 100))
        }
    }

    @Test("balancing keeps a debits_must_not_exceed_credits account within its limit", arguments: Layout.allCases)
    func balancingWithLimit(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 5, 100)])
            #expect(try t.status(xfer(10, 5, 2, .max, flags: .balancingDebit)) == .created)
            #expect(t.transfer(10)?.amount == 100)
            #expect(try t.status(xfer(11, 5, 2, 1)) == .exceedsCredits)
            #expect(try t.status(xfer(12, 5, 2, 1, flags: .balancingDebit)) == .created)
            #expect(t.transfer(12)?.amount == 0)
        }
    }
}

// MARK: - Closing accounts

@Suite("closing_debit / closing_credit")
struct ClosingTests {
    @Test("a pending closing_debit closes the debit account; void reopens it", arguments: Layout.allCases)
    func closeAndReopen(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 1, 2, 0, flags: [.pending, .closingDebit])])
            #expect(t.account(1)?.flags.contains(.closed) == true)
            #expect(t.account(2)?.flags.contains(.closed) == false)
            #expect(try t.status(xfer(10, 1, 3, 5)) == .debitAccountAlreadyClosed)
            #expect(try t.status(xfer(11, 3, 1, 5)) == .creditAccountAlreadyClosed)
            #expect(try t.status(xfer(12, 1, 3, 5, flags: .pending)) == .debitAccountAlreadyClosed)
            #expect(try t.status(xfer(13, 1, 3, 0, flags: [.pending, .closingDebit])) == .debitAccountAlreadyClosed)
            // Account 2 is not closed.
            #expect(try t.status(xfer(14, 2, 3, 5)) == .created)
            // The account's flags now include `closed`: re-creating it reports different flags.
            #expect(try t.status(acct(1)) == .existsWithDifferentFlags)

            #expect(try t.status(void(31, 30)) == .created)
            #expect(t.account(1)?.flags.contains(.closed) == false)
            #expect(try t.status(acct(1)) == .exists)
            #expect(try t.status(xfer(15, 1, 3, 5)) == .created)
        }
    }

    @Test("closing_credit closes the credit account; both flags close both", arguments: Layout.allCases)
    func closingCreditAndBoth(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 1, 2, 7, flags: [.pending, .closingCredit])])
            #expect(t.account(2)?.flags.contains(.closed) == true)
            #expect(t.account(1)?.flags.contains(.closed) == false)
            #expect(t.balances(1) == Balances(debitsPending: 7))
            #expect(try t.status(xfer(10, 3, 2, 1)) == .creditAccountAlreadyClosed)
            #expect(try t.status(void(31, 30)) == .created)
            #expect(t.account(2)?.flags.contains(.closed) == false)
            #expect(t.balances(1) == Balances())

            try t.setupTransfers([xfer(32, 1, 2, 0, flags: [.pending, .closingDebit, .closingCredit])])
            #expect(t.account(1)?.flags.contains(.closed) == true)
            #expect(t.account(2)?.flags.contains(.closed) == true)
            #expect(try t.status(xfer(11, 3, 1, 1)) == .creditAccountAlreadyClosed)
            #expect(try t.status(xfer(12, 2, 3, 1)) == .debitAccountAlreadyClosed)
        }
    }

    @Test("closing must be pending", arguments: Layout.allCases)
    func mustBePending(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(30, 1, 2, 0, flags: .closingDebit)) == .closingTransferMustBePending)
            #expect(try t.status(xfer(31, 1, 2, 0, flags: [.closingDebit, .closingCredit, .balancingDebit])) == .closingTransferMustBePending)
            #expect(t.account(1)?.flags.contains(.closed) == false)
        }
    }

    @Test("posting a closing transfer fails: its account is closed (transient)", arguments: Layout.allCases)
    func postClosing(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 1, 2, 5, flags: [.pending, .closingDebit])])
            #expect(try t.status(post(31, 30)) == .debitAccountAlreadyClosed)
            #expect(try t.status(post(31, 30)) == .idAlreadyFailed)
            try t.setupTransfers([xfer(32, 3, 2, 0, flags: [.pending, .closingCredit])])
            #expect(try t.status(post(33, 32)) == .creditAccountAlreadyClosed)
            #expect(try t.status(post(33, 32)) == .idAlreadyFailed)
            // Voiding is allowed on closed accounts, and reopens only what the pending closed.
            #expect(try t.status(void(34, 30)) == .created)
            #expect(t.account(1)?.flags.contains(.closed) == false)
            #expect(t.account(2)?.flags.contains(.closed) == true)
            #expect(t.balances(1) == Balances())
        }
    }

    @Test("voiding another pending transfer is the only movement allowed on a closed account", arguments: Layout.allCases)
    func voidOnClosed(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, 10, flags: .pending), xfer(21, 1, 2, 10, flags: .pending)])
            try t.setupTransfers([xfer(30, 1, 3, 0, flags: [.pending, .closingDebit])])
            #expect(try t.status(post(22, 20)) == .debitAccountAlreadyClosed)
            #expect(try t.status(void(23, 21)) == .created)
            #expect(t.account(1)?.flags.contains(.closed) == true)
            #expect(t.balances(1) == Balances(debitsPending: 10))
        }
    }

    @Test("an expiring closing transfer reopens the account", arguments: Layout.allCases)
    func expiryReopens(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(30, 1, 2, 4, flags: [.pending, .closingDebit], timeout: 1)])
            #expect(t.account(1)?.flags.contains(.closed) == true)
            t.advance(by: TestLedger.second)
            try t.pulse()
            #expect(t.ledger.pendingStatus(ofTransfer: 30) == .expired)
            #expect(t.account(1)?.flags.contains(.closed) == false)
            #expect(t.balances(1) == Balances())
            #expect(try t.status(void(31, 30)) == .pendingTransferExpired)
        }
    }

    @Test("an account created closed takes no transfers", arguments: Layout.allCases)
    func createdClosed(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupAccounts([acct(7, flags: .closed)])
            #expect(try t.status(xfer(10, 7, 1, 1)) == .debitAccountAlreadyClosed)
            #expect(try t.status(xfer(11, 1, 7, 1)) == .creditAccountAlreadyClosed)
            #expect(try t.status(xfer(12, 1, 7, 0, flags: [.pending, .closingCredit])) == .creditAccountAlreadyClosed)
        }
    }
}

// MARK: - Balance limits

@Suite("debits_must_not_exceed_credits / credits_must_not_exceed_debits")
struct BalanceLimitTests {
    @Test("exceeds_credits: debits (pending + posted) + amount > credits_posted", arguments: Layout.allCases)
    func exceedsCredits(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 5, 100)])
            #expect(try t.status(xfer(10, 5, 2, 70)) == .created)
            // Pessimistic: the pending amount counts before it is posted.
            #expect(try t.status(xfer(11, 5, 2, 31, flags: .pending)) == .exceedsCredits)
            #expect(try t.status(xfer(12, 5, 2, 30, flags: .pending)) == .created)
            #expect(try t.status(xfer(13, 5, 2, 1)) == .exceedsCredits)
            #expect(try t.status(xfer(14, 5, 2, 0)) == .created)
            // Posting never breaks the invariant.
            #expect(try t.status(post(15, 12)) == .created)
            #expect(t.balances(5) == Balances(debitsPosted: 100, creditsPosted: 100))
        }
    }

    @Test("pending credits do not count as credits", arguments: Layout.allCases)
    func pendingCreditsDoNotCount(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 5, 100, flags: .pending)])
            #expect(try t.status(xfer(10, 5, 2, 1)) == .exceedsCredits)
            try t.setupTransfers([post(21, 20)])
            #expect(try t.status(xfer(11, 5, 2, 100)) == .created)
        }
    }

    @Test("exceeds_debits: credits (pending + posted) + amount > debits_posted", arguments: Layout.allCases)
    func exceedsDebits(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 6, 1, 50)])
            #expect(try t.status(xfer(10, 2, 6, 40, flags: .pending)) == .created)
            #expect(try t.status(xfer(11, 2, 6, 11)) == .exceedsDebits)
            #expect(try t.status(void(12, 10)) == .created)
            #expect(try t.status(xfer(13, 2, 6, 50)) == .created)
            #expect(try t.status(xfer(14, 2, 6, 1)) == .exceedsDebits)
            #expect(t.balances(6) == Balances(debitsPosted: 50, creditsPosted: 50))
        }
    }

    @Test("exceeds_credits beats exceeds_debits", arguments: Layout.allCases)
    func creditsFirst(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(10, 5, 6, 1)) == .exceedsCredits)
        }
    }
}

// MARK: - Overflows at the u128 / u63 edges

@Suite("overflows_*")
struct OverflowTests {
    @Test("posted debits may reach exactly UInt128.max", arguments: Layout.allCases)
    func exactFitPosted(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max - 1)])
            #expect(try t.status(xfer(10, 1, 3, 1)) == .created)
            #expect(t.balances(1) == Balances(debitsPosted: .max))
            #expect(try t.status(xfer(11, 1, 3, 0)) == .created)
            #expect(try t.status(xfer(12, 1, 3, 1)) == .overflowsDebitsPosted)
            #expect(try t.status(xfer(13, 1, 3, 1, flags: .pending)) == .overflowsDebitsPosted)
            // Account 2 holds max - 1 credits.
            #expect(try t.status(xfer(14, 3, 2, 1)) == .created)
            #expect(try t.status(xfer(15, 3, 2, 1)) == .overflowsCreditsPosted)
        }
    }

    @Test("pending + posted together may not exceed UInt128.max", arguments: Layout.allCases)
    func pendingPlusPosted(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max - 1, flags: .pending)])
            #expect(try t.status(xfer(10, 1, 3, 1)) == .created)  // debits = max exactly
            #expect(t.balances(1) == Balances(debitsPending: .max - 1, debitsPosted: 1))
            #expect(try t.status(xfer(11, 1, 3, 1)) == .overflowsDebits)
            #expect(try t.status(xfer(12, 3, 2, 2)) == .overflowsCredits)
            #expect(try t.status(xfer(13, 3, 2, 1)) == .created)
            // Posting the pending moves it within the same total.
            #expect(try t.status(post(14, 20)) == .created)
            #expect(t.balances(1) == Balances(debitsPosted: .max))
        }
    }

    @Test("precedence: debits_pending, credits_pending, debits_posted, credits_posted, debits, credits", arguments: Layout.allCases)
    func overflowOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max, flags: .pending)])
            #expect(try t.status(xfer(10, 1, 2, 1, flags: .pending)) == .overflowsDebitsPending)
            #expect(try t.status(xfer(11, 1, 2, 1)) == .overflowsDebits)

            let u = try transferFixture()
            try u.setupTransfers([xfer(20, 1, 2, .max)])
            #expect(try u.status(xfer(10, 1, 2, 1)) == .overflowsDebitsPosted)
            #expect(try u.status(xfer(11, 1, 2, 1, flags: .pending)) == .overflowsDebitsPosted)
            #expect(try u.status(xfer(12, 3, 2, 1, flags: .pending)) == .overflowsCreditsPosted)
        }
    }

    @Test("overflows beat exceeds_credits", arguments: Layout.allCases)
    func overflowBeforeLimit(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 5, .max), xfer(21, 5, 2, .max)])
            #expect(t.balances(5) == Balances(debitsPosted: .max, creditsPosted: .max))
            #expect(try t.status(xfer(10, 5, 3, 1)) == .overflowsDebitsPosted)
        }
    }

    @Test("overflows_timeout: timestamp + timeout * 1e9 must stay within 2^63 - 1", arguments: Layout.allCases)
    func timeoutEdgeExact(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture(start: timeoutEdge - 10 * TestLedger.step)
            t.setNext(timeoutEdge)
            #expect(try t.status(xfer(10, 1, 2, 5, flags: .pending, timeout: .max)) == .created)
            #expect(t.transfer(10)?.timestamp == timeoutEdge)
            #expect(try t.status(xfer(11, 1, 2, 5, flags: .pending, timeout: .max)) == .overflowsTimeout)
            #expect(try t.status(xfer(12, 1, 2, 5, flags: .pending, timeout: 1)) == .created)
            // Checked after the other overflows, before the balance limits.
            #expect(try t.status(xfer(13, 5, 2, 5, flags: .pending, timeout: .max)) == .overflowsTimeout)
            #expect(try t.status(post(14, 10)) == .created)
            #expect(t.balances(1) == Balances(debitsPending: 5, debitsPosted: 5))
        }
    }
}

// MARK: - Precedence

@Suite("create_transfers precedence")
struct CreateTransferPrecedenceTests {
    @Test("batch-level checks: chain_open, imported expected, timestamp, range, advance", arguments: Layout.allCases)
    func batchLevel(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(0, 0, 0, 0, flags: .linked, ledger: 0)) == .linkedEventChainOpen)
            let ts = t.clock + 100
            #expect(try t.transferStatuses([xfer(10, 1, 2, 5, flags: .imported, timestamp: ts),
                                            xfer(0, 1, 2, 5, timestamp: 3)]) == [.created, .importedEventExpected])
            #expect(try t.status(xfer(11, 1, 2, 5, flags: TransferFlags(rawValue: 1 << 10), timestamp: 3)) == .timestampMustBeZero)
            #expect(try t.status(xfer(0, 1, 2, 5, flags: [.imported, TransferFlags(rawValue: 1 << 9)], timestamp: .max))
                    == .importedEventTimestampOutOfRange)
            #expect(try t.status(xfer(0, 1, 2, 5, flags: [.imported, TransferFlags(rawValue: 1 << 9)], timestamp: t.next))
                    == .importedEventTimestampMustNotAdvance)
        }
    }

    @Test("reserved_flag, then id checks", arguments: Layout.allCases)
    func reservedThenId(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(0, 0, 0, 0, flags: TransferFlags(rawValue: 1 << 15))) == .reservedFlag)
            #expect(try t.status(xfer(0, 0, 0, 0, ledger: 0)) == .idMustNotBeZero)
            #expect(try t.status(xfer(.max, 0, 0, 0, ledger: 0)) == .idMustNotBeIntMax)
        }
    }

    @Test("exists_with_different_* in field order, before any validation", arguments: Layout.allCases)
    func existsOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try CreateTransferStatusTests.withTransfer10()
            var x = Transfer(id: 10, debitAccountId: 0, creditAccountId: 0, amount: 0, pendingId: 99,
                             userData128: 0, userData64: 0, userData32: 0, timeout: 9, ledger: 0, code: 0,
                             flags: [.postPendingTransfer, .voidPendingTransfer])
            #expect(try t.status(x) == .existsWithDifferentFlags)
            x.flags = []
            #expect(try t.status(x) == .existsWithDifferentPendingId)
            x.pendingId = 0
            #expect(try t.status(x) == .existsWithDifferentTimeout)
            x.timeout = 0
            #expect(try t.status(x) == .existsWithDifferentDebitAccountId)
            x.debitAccountId = 1
            #expect(try t.status(x) == .existsWithDifferentCreditAccountId)
            x.creditAccountId = 2
            #expect(try t.status(x) == .existsWithDifferentAmount)
            x.amount = 5
            #expect(try t.status(x) == .existsWithDifferentUserData128)
            x.userData128 = 7
            #expect(try t.status(x) == .existsWithDifferentUserData64)
            x.userData64 = 8
            #expect(try t.status(x) == .existsWithDifferentUserData32)
            x.userData32 = 9
            #expect(try t.status(x) == .existsWithDifferentLedger)
            x.ledger = 1
            #expect(try t.status(x) == .existsWithDifferentCode)
            x.code = 1
            #expect(try t.status(x) == .exists)
        }
    }

    @Test("exists beats state-dependent failures (closed account, limits)", arguments: Layout.allCases)
    func existsBeatsState(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 5, 10), xfer(10, 5, 2, 10)])
            try t.setupTransfers([xfer(30, 5, 3, 0, flags: [.pending, .closingDebit])])
            #expect(try t.status(xfer(10, 5, 2, 10)) == .exists)
            #expect(try t.status(xfer(11, 5, 2, 10)) == .debitAccountAlreadyClosed)
        }
    }

    @Test("closed accounts beat overflows and limits; debit before credit", arguments: Layout.allCases)
    func closedBeforeOverflow(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            try t.setupTransfers([xfer(20, 1, 2, .max), xfer(21, 6, 3, 5)])
            try t.setupTransfers([xfer(30, 1, 3, 0, flags: [.pending, .closingDebit])])
            // Account 1 has debits_posted = max: any amount would overflow, but it is closed.
            #expect(try t.status(xfer(10, 1, 3, 1)) == .debitAccountAlreadyClosed)
            #expect(try t.status(xfer(11, 1, 6, 9, flags: .pending)) == .debitAccountAlreadyClosed)
            try t.setupTransfers([xfer(32, 3, 2, 0, flags: [.pending, .closingCredit])])
            // Account 2 has credits_posted = max and is closed; account 5 has no credits.
            #expect(try t.status(xfer(12, 5, 2, 1)) == .creditAccountAlreadyClosed)
            // Both closed: the debit account is reported.
            #expect(try t.status(xfer(13, 1, 2, 1)) == .debitAccountAlreadyClosed)
            #expect(try t.status(xfer(14, 2, 1, 1)) == .debitAccountAlreadyClosed)
        }
    }

    @Test("plain transfer field checks in order", arguments: Layout.allCases)
    func plainOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            var x = xfer(10, 0, 0, 5, flags: .closingDebit, pendingId: 3, timeout: 1, ledger: 0, code: 0)
            #expect(try t.status(x) == .debitAccountIdMustNotBeZero)
            x.debitAccountId = .max
            #expect(try t.status(x) == .debitAccountIdMustNotBeIntMax)
            x.debitAccountId = 1
            #expect(try t.status(x) == .creditAccountIdMustNotBeZero)
            x.creditAccountId = .max
            #expect(try t.status(x) == .creditAccountIdMustNotBeIntMax)
            x.creditAccountId = 1
            #expect(try t.status(x) == .accountsMustBeDifferent)
            x.creditAccountId = 2
            #expect(try t.status(x) == .pendingIdMustBeZero)
            x.pendingId = 0
            #expect(try t.status(x) == .timeoutReservedForPendingTransfer)
            x.timeout = 0
            #expect(try t.status(x) == .closingTransferMustBePending)
            x.flags = []
            #expect(try t.status(x) == .ledgerMustNotBeZero)
            x.ledger = 3
            #expect(try t.status(x) == .codeMustNotBeZero)
            x.code = 1
            x.debitAccountId = 98
            x.creditAccountId = 99
            #expect(try t.status(x.with { $0.id = 11 }) == .debitAccountNotFound)
            x.debitAccountId = 1
            #expect(try t.status(x.with { $0.id = 12 }) == .creditAccountNotFound)
            x.creditAccountId = 4
            #expect(try t.status(x.with { $0.id = 13 }) == .accountsMustHaveTheSameLedger)
            x.creditAccountId = 2
            #expect(try t.status(x.with { $0.id = 14 }) == .transferMustHaveTheSameLedgerAsAccounts)
            x.ledger = 1
            #expect(try t.status(x.with { $0.id = 15 }) == .created)
        }
    }

    @Test("a pending transfer may have a timeout and closing flags", arguments: Layout.allCases)
    func pendingAllowsTimeoutAndClosing(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            #expect(try t.status(xfer(10, 1, 2, 5, flags: [.pending, .closingCredit, .balancingDebit], timeout: 5)) == .created)
        }
    }

    @Test("imported checks in order, after the ledger checks and before closed accounts", arguments: Layout.allCases)
    func importedOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let base = t.clock
            try t.setupTransfers([xfer(20, 1, 2, 5, flags: .imported, timestamp: base + 100)])
            try t.setupAccounts([acct(7)])
            // Close account 1 (a non-imported batch) after the imported transfer.
            try t.setupTransfers([xfer(30, 1, 3, 0, flags: [.pending, .closingDebit])])
            let closeTs = t.clock
            var x = xfer(10, 7, 1, 5, flags: [.imported, .pending], timeout: 1, ledger: 2, timestamp: base + 100)
            #expect(try t.status(x) == .transferMustHaveTheSameLedgerAsAccounts)
            x.ledger = 1
            // Not after the last transfer (30).
            #expect(try t.status(x) == .importedEventTimestampMustNotRegress)
            x.timestamp = closeTs + 1  // after every transfer and both accounts
            #expect(try t.status(x) == .importedEventTimeoutMustBeZero)
            x.timeout = 0
            #expect(try t.status(x) == .creditAccountAlreadyClosed)
            // A non-pending imported transfer with a timeout fails earlier, on the timeout itself.
            #expect(try t.status(x.with { $0.id = 16; $0.flags = .imported; $0.timeout = 1 }) == .timeoutReservedForPendingTransfer)
            let y = xfer(11, 8, 1, 5, flags: .imported, timestamp: closeTs + 2)
            try t.setupAccounts([acct(8)])
            #expect(try t.status(y) == .importedEventTimestampMustPostdateDebitAccount)
            #expect(try t.status(y.with { $0.id = 12; $0.debitAccountId = 1; $0.creditAccountId = 8 })
                    == .importedEventTimestampMustPostdateCreditAccount)
        }
    }

    @Test("post/void skip the plain checks on account ids, ledger and code", arguments: Layout.allCases)
    func postSkipsPlainChecks(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try CreateTransferStatusTests.withPending20()
            #expect(try t.status(post(10, 99).with { $0.debitAccountId = .max }) == .pendingTransferNotFound)
            #expect(try t.status(post(11, 20).with { $0.debitAccountId = .max }) == .pendingTransferHasDifferentDebitAccountId)
            #expect(try t.status(post(12, 20).with { $0.creditAccountId = 1 }) == .pendingTransferHasDifferentCreditAccountId)
            // ledger and code zero: taken from the pending transfer.
            #expect(try t.status(post(13, 20, 2)) == .created)
            #expect(t.transfer(13)?.ledger == 1)
            #expect(t.transfer(13)?.code == 1)
        }
    }

    @Test("post/void checks in order", arguments: Layout.allCases)
    func postOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try CreateTransferStatusTests.withPending20()
            try t.setupTransfers([xfer(21, 1, 2, 5)])
            var x = Transfer(id: 10, debitAccountId: 3, creditAccountId: 3, amount: 9, pendingId: 0,
                             timeout: 1, ledger: 2, code: 2,
                             flags: [.postPendingTransfer, .voidPendingTransfer, .pending])
            #expect(try t.status(x) == .flagsAreMutuallyExclusive)
            x.flags = [.postPendingTransfer, .pending]
            #expect(try t.status(x) == .flagsAreMutuallyExclusive)
            x.flags = .postPendingTransfer
            #expect(try t.status(x) == .pendingIdMustNotBeZero)
            x.pendingId = .max
            #expect(try t.status(x) == .pendingIdMustNotBeIntMax)
            x.pendingId = 10
            #expect(try t.status(x) == .pendingIdMustBeDifferent)
            x.pendingId = 21
            #expect(try t.status(x) == .timeoutReservedForPendingTransfer)
            x.timeout = 0
            #expect(try t.status(x) == .pendingTransferNotPending)
            x.pendingId = 20
            #expect(try t.status(x) == .pendingTransferHasDifferentDebitAccountId)
            x.debitAccountId = 1
            #expect(try t.status(x) == .pendingTransferHasDifferentCreditAccountId)
            x.creditAccountId = 2
            #expect(try t.status(x) == .pendingTransferHasDifferentLedger)
            x.ledger = 1
            #expect(try t.status(x) == .pendingTransferHasDifferentCode)
            x.code = 1
            #expect(try t.status(x) == .exceedsPendingTransferAmount)
            x.amount = 5
            #expect(try t.status(x) == .created)
        }
    }

    @Test("amount checks beat the pending's state; state beats expiry and closed accounts", arguments: Layout.allCases)
    func pendingStateOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try CreateTransferStatusTests.withPending20(timeout: 1)
            try t.setupTransfers([post(10, 20, 3)])
            #expect(try t.status(post(11, 20, 6)) == .exceedsPendingTransferAmount)
            #expect(try t.status(void(12, 20, 4)) == .pendingTransferHasDifferentAmount)
            #expect(try t.status(void(13, 20, 6)) == .exceedsPendingTransferAmount)
            t.advance(by: 2 * TestLedger.second)
            try t.setupTransfers([xfer(30, 1, 2, 0, flags: [.pending, .closingDebit])])
            #expect(try t.status(post(14, 20)) == .pendingTransferAlreadyPosted)

            let u = try CreateTransferStatusTests.withPending20(timeout: 1)
            try u.setupTransfers([xfer(30, 1, 3, 0, flags: [.pending, .closingDebit])])
            u.advance(by: 2 * TestLedger.second)
            #expect(try u.status(void(14, 20, 4)) == .pendingTransferHasDifferentAmount)
            #expect(try u.status(post(15, 20)) == .pendingTransferExpired)
        }
    }

    @Test("imported post: must_not_regress beats closed accounts", arguments: Layout.allCases)
    func importedPostOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try transferFixture()
            let ts = t.clock + 100
            try t.setupTransfers([xfer(20, 1, 2, 5, flags: [.imported, .pending], timestamp: ts),
                                  xfer(30, 1, 3, 0, flags: [.imported, .pending, .closingDebit], timestamp: ts + 1)])
            #expect(try t.status(post(10, 20, flags: .imported).with { $0.timestamp = ts + 1 })
                    == .importedEventTimestampMustNotRegress)
            #expect(try t.status(post(11, 20, flags: .imported).with { $0.timestamp = ts + 2 })
                    == .debitAccountAlreadyClosed)
            #expect(try t.status(void(12, 20, flags: .imported).with { $0.timestamp = ts + 3 }) == .created)
        }
    }
}
