@testable import LedgerCore
import Testing

/// Every `CreateAccountStatus`, produced the way the reference (TigerBeetle 0.17.8,
/// `state_machine.zig` `execute_create` / `create_account` / `create_account_exists`) does.
@Suite("create_accounts status codes")
struct CreateAccountStatusTests {
    /// A ledger holding account 1 (ledger 1, code 1, user data 128/64/32 = 11/12/13).
    static func withAccount1() throws -> TestLedger {
        let t = TestLedger()
        try t.setupAccounts([acct(1, userData128: 11, userData64: 12, userData32: 13)])
        return t
    }

    /// Account 1 as created by `withAccount1`, with `change` applied.
    static func account1(_ change: (inout Account) -> Void = { _ in }) -> Account {
        var a = acct(1, userData128: 11, userData64: 12, userData32: 13)
        change(&a)
        return a
    }

    /// One scenario per status (several for some); each returns the status of the event
    /// under test.
    static let scenarios: [StatusScenario<CreateAccountStatus>] = [
        .init(.created) { try TestLedger().status(acct(1)) },
        .init(.created, "closed flag allowed at creation") {
            try TestLedger().status(acct(1, flags: [.closed, .history]))
        },
        .init(.linkedEventFailed) {
            try TestLedger().accountStatuses([acct(1, flags: .linked), acct(2, ledger: 0)])[0]
        },
        .init(.linkedEventChainOpen) {
            try TestLedger().accountStatuses([acct(1), acct(2, flags: .linked)])[1]
        },
        .init(.importedEventExpected) {
            try TestLedger().accountStatuses([acct(1, flags: .imported, timestamp: 100), acct(2)])[1]
        },
        .init(.importedEventNotExpected) {
            try TestLedger().accountStatuses([acct(1), acct(2, flags: .imported, timestamp: 100)])[1]
        },
        .init(.timestampMustBeZero) { try TestLedger().status(acct(1, timestamp: 7)) },
        .init(.importedEventTimestampOutOfRange, "zero") {
            try TestLedger().status(acct(1, flags: .imported, timestamp: 0))
        },
        .init(.importedEventTimestampOutOfRange, "2^63") {
            try TestLedger().status(acct(1, flags: .imported, timestamp: UInt64(Int64.max) + 1))
        },
        .init(.importedEventTimestampMustNotAdvance, "equal to batch timestamp") {
            let t = TestLedger()
            return try t.status(acct(1, flags: .imported, timestamp: t.next))
        },
        .init(.importedEventTimestampMustNotAdvance, "2^63 - 1") {
            try TestLedger().status(acct(1, flags: .imported, timestamp: UInt64(Int64.max)))
        },
        .init(.reservedField) {
            var a = acct(1)
            a.reserved = 1
            return try TestLedger().status(a)
        },
        .init(.reservedFlag) {
            try TestLedger().status(acct(1, flags: AccountFlags(rawValue: 1 << 6)))
        },
        .init(.reservedFlag, "top bit") {
            try TestLedger().status(acct(1, flags: AccountFlags(rawValue: 1 << 15)))
        },
        .init(.idMustNotBeZero) { try TestLedger().status(acct(0)) },
        .init(.idMustNotBeIntMax) { try TestLedger().status(acct(.max)) },
        .init(.existsWithDifferentFlags) {
            try withAccount1().status(account1 { $0.flags = .history })
        },
        .init(.existsWithDifferentUserData128) {
            try withAccount1().status(account1 { $0.userData128 = 99 })
        },
        .init(.existsWithDifferentUserData64) {
            try withAccount1().status(account1 { $0.userData64 = 99 })
        },
        .init(.existsWithDifferentUserData32) {
            try withAccount1().status(account1 { $0.userData32 = 99 })
        },
        .init(.existsWithDifferentLedger) {
            try withAccount1().status(account1 { $0.ledger = 2 })
        },
        .init(.existsWithDifferentCode) {
            try withAccount1().status(account1 { $0.code = 2 })
        },
        .init(.exists) { try withAccount1().status(account1()) },
        .init(.flagsAreMutuallyExclusive) {
            try TestLedger().status(acct(1, flags: [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits]))
        },
        .init(.debitsPendingMustBeZero) { try TestLedger().status(Account(id: 1, debitsPending: 1, ledger: 1, code: 1)) },
        .init(.debitsPostedMustBeZero) { try TestLedger().status(Account(id: 1, debitsPosted: 1, ledger: 1, code: 1)) },
        .init(.creditsPendingMustBeZero) { try TestLedger().status(Account(id: 1, creditsPending: 1, ledger: 1, code: 1)) },
        .init(.creditsPostedMustBeZero) { try TestLedger().status(Account(id: 1, creditsPosted: 1, ledger: 1, code: 1)) },
        .init(.ledgerMustNotBeZero) { try TestLedger().status(acct(1, ledger: 0)) },
        .init(.codeMustNotBeZero) { try TestLedger().status(acct(1, code: 0)) },
        .init(.importedEventTimestampMustNotRegress, "equal to the last account's") {
            let t = TestLedger()
            try t.setupAccounts([acct(1, flags: .imported, timestamp: 200)])
            return try t.status(acct(2, flags: .imported, timestamp: 200))
        },
        .init(.importedEventTimestampMustNotRegress, "before the last account's") {
            let t = TestLedger()
            try t.setupAccounts([acct(1, flags: .imported, timestamp: 200)])
            return try t.status(acct(2, flags: .imported, timestamp: 150))
        },
        .init(.importedEventTimestampMustNotRegress, "within one batch") {
            try TestLedger().accountStatuses([
                acct(1, flags: .imported, timestamp: 300), acct(2, flags: .imported, timestamp: 300),
            ])[1]
        },
        .init(.importedEventTimestampMustNotRegress, "equal to a transfer's timestamp") {
            let t = TestLedger()
            try t.setupAccounts([
                acct(1, flags: .imported, timestamp: 100), acct(2, flags: .imported, timestamp: 101),
            ])
            try t.setupTransfers([xfer(1, 1, 2, 5, flags: .imported, timestamp: 300)])
            // Above every account's timestamp, but taken by a transfer.
            return try t.status(acct(3, flags: .imported, timestamp: 300))
        },
    ]

    @Test(arguments: Layout.allCases, scenarios)
    func status(layout: Layout, _ scenario: StatusScenario<CreateAccountStatus>) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            #expect(try scenario.run() == scenario.expected)
        }
    }

    @Test("every CreateAccountStatus is produced by a scenario", arguments: Layout.allCases)
    func coverage(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            var produced = Set<CreateAccountStatus>()
            for scenario in Self.scenarios {
                let status = try scenario.run()
                #expect(status == scenario.expected, "\(scenario.testDescription)")
                produced.insert(status)
            }
            let missing = CreateAccountStatus.allCases.filter { !produced.contains($0) }
            #expect(missing.isEmpty, "not produced: \(missing)")
            #expect(produced.count == CreateAccountStatus.allCases.count)
        }
    }

    @Test("raw values are the reference's wire codes")
    func wireCodes() {
        #expect(CreateAccountStatus.created.rawValue == UInt32.max)
        #expect(CreateAccountStatus.linkedEventFailed.rawValue == 1)
        #expect(CreateAccountStatus.importedEventExpected.rawValue == 22)
        #expect(CreateAccountStatus.reservedField.rawValue == 4)
        #expect(CreateAccountStatus.existsWithDifferentFlags.rawValue == 15)
        #expect(CreateAccountStatus.exists.rawValue == 21)
        #expect(CreateAccountStatus.codeMustNotBeZero.rawValue == 14)
        #expect(CreateAccountStatus.importedEventTimestampMustNotRegress.rawValue == 26)
        // Codes 1...26 are all used, once.
        let codes = Set(CreateAccountStatus.allCases.filter { $0 != .created }.map(\.rawValue))
        #expect(codes == Set(1...26))
    }
}

@Suite("create_accounts precedence")
struct CreateAccountPrecedenceTests {
    @Test("linked_event_chain_open beats id_must_not_be_zero", arguments: Layout.allCases)
    func chainOpenFirst(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            #expect(try TestLedger().status(acct(0, flags: .linked)) == .linkedEventChainOpen)
        }
    }

    @Test("imported_event_expected beats timestamp_must_be_zero", arguments: Layout.allCases)
    func importedExpectedBeforeTimestamp(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let s = try TestLedger().accountStatuses([
                acct(1, flags: .imported, timestamp: 100), acct(2, ledger: 0, timestamp: 7),
            ])
            #expect(s == [.created, .importedEventExpected])
        }
    }

    @Test("imported_event_not_expected beats imported_event_timestamp_out_of_range", arguments: Layout.allCases)
    func notExpectedBeforeRange(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let s = try TestLedger().accountStatuses([acct(1), acct(2, flags: .imported, timestamp: 0)])
            #expect(s == [.created, .importedEventNotExpected])
        }
    }

    @Test("timestamp_must_be_zero beats reserved_field", arguments: Layout.allCases)
    func timestampBeforeReserved(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            var a = acct(1, timestamp: 9)
            a.reserved = 1
            #expect(try TestLedger().status(a) == .timestampMustBeZero)
        }
    }

    @Test("imported_event_timestamp_out_of_range beats must_not_advance and reserved_field", arguments: Layout.allCases)
    func rangeBeforeAdvance(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            var a = acct(1, flags: .imported, timestamp: .max)
            a.reserved = 1
            #expect(try TestLedger().status(a) == .importedEventTimestampOutOfRange)
        }
    }

    @Test("imported_event_timestamp_must_not_advance beats reserved_field", arguments: Layout.allCases)
    func advanceBeforeReserved(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            var a = acct(0, flags: .imported, timestamp: t.next + 5)
            a.reserved = 1
            #expect(try t.status(a) == .importedEventTimestampMustNotAdvance)
        }
    }

    @Test("reserved_field beats reserved_flag beats id_must_not_be_zero", arguments: Layout.allCases)
    func reservedOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            var a = acct(0, ledger: 0, flags: AccountFlags(rawValue: 1 << 7))
            a.reserved = 1
            #expect(try TestLedger().status(a) == .reservedField)
            a.reserved = 0
            #expect(try TestLedger().status(a) == .reservedFlag)
            a.flags = []
            #expect(try TestLedger().status(a) == .idMustNotBeZero)
        }
    }

    @Test("id_must_not_be_int_max beats ledger_must_not_be_zero", arguments: Layout.allCases)
    func idBeforeLedger(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            #expect(try TestLedger().status(acct(.max, ledger: 0, code: 0)) == .idMustNotBeIntMax)
        }
    }

    @Test("existence is checked before the account's own validity", arguments: Layout.allCases)
    func existsBeforeValidation(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try CreateAccountStatusTests.withAccount1()
            // Mutually exclusive flags differ from the stored ones: exists_with_different_flags.
            #expect(try t.status(CreateAccountStatusTests.account1 {
                $0.flags = [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits]
            }) == .existsWithDifferentFlags)
            // Balances are not compared by the idempotency check: `exists`, not *_must_be_zero.
            #expect(try t.status(CreateAccountStatusTests.account1 {
                $0.debitsPending = 1
                $0.creditsPosted = 5
            }) == .exists)
            // ledger 0 differs from the stored ledger: exists_with_different_ledger, not ledger_must_not_be_zero.
            #expect(try t.status(CreateAccountStatusTests.account1 { $0.ledger = 0 }) == .existsWithDifferentLedger)
        }
    }

    @Test("exists_with_different_* in field order: flags, user_data_128/64/32, ledger, code", arguments: Layout.allCases)
    func existsOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = try CreateAccountStatusTests.withAccount1()
            var a = acct(1, ledger: 9, code: 9, flags: .history, userData128: 1, userData64: 1, userData32: 1)
            #expect(try t.status(a) == .existsWithDifferentFlags)
            a.flags = []
            #expect(try t.status(a) == .existsWithDifferentUserData128)
            a.userData128 = 11
            #expect(try t.status(a) == .existsWithDifferentUserData64)
            a.userData64 = 12
            #expect(try t.status(a) == .existsWithDifferentUserData32)
            a.userData32 = 13
            #expect(try t.status(a) == .existsWithDifferentLedger)
            a.ledger = 1
            #expect(try t.status(a) == .existsWithDifferentCode)
            a.code = 1
            #expect(try t.status(a) == .exists)
        }
    }

    @Test("flags_are_mutually_exclusive, then balances, then ledger, then code", arguments: Layout.allCases)
    func validationOrder(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            var a = Account(id: 1, debitsPending: 1, debitsPosted: 1, creditsPending: 1, creditsPosted: 1,
                            ledger: 0, code: 0, flags: [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits])
            #expect(try TestLedger().status(a) == .flagsAreMutuallyExclusive)
            a.flags = []
            #expect(try TestLedger().status(a) == .debitsPendingMustBeZero)
            a.debitsPending = 0
            #expect(try TestLedger().status(a) == .debitsPostedMustBeZero)
            a.debitsPosted = 0
            #expect(try TestLedger().status(a) == .creditsPendingMustBeZero)
            a.creditsPending = 0
            #expect(try TestLedger().status(a) == .creditsPostedMustBeZero)
            a.creditsPosted = 0
            #expect(try TestLedger().status(a) == .ledgerMustNotBeZero)
            a.ledger = 1
            #expect(try TestLedger().status(a) == .codeMustNotBeZero)
            a.code = 1
            #expect(try TestLedger().status(a) == .created)
        }
    }

    @Test("code_must_not_be_zero beats imported_event_timestamp_must_not_regress", arguments: Layout.allCases)
    func codeBeforeRegress(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            try t.setupAccounts([acct(1, flags: .imported, timestamp: 500)])
            #expect(try t.status(acct(2, code: 0, flags: .imported, timestamp: 400)) == .codeMustNotBeZero)
            #expect(try t.status(acct(2, flags: .imported, timestamp: 400)) == .importedEventTimestampMustNotRegress)
        }
    }

    @Test("re-importing an existing account gives exists, not must_not_regress", arguments: Layout.allCases)
    func reimportExists(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            try t.setupAccounts([acct(1, flags: .imported, timestamp: 500), acct(2, flags: .imported, timestamp: 600)])
            let same = try t.createAccounts([acct(1, flags: .imported, timestamp: 500)])
            #expect(same == [CreateAccountResult(timestamp: 500, status: .exists)])
            // The timestamp is not part of the idempotency check.
            let other = try t.createAccounts([acct(1, flags: .imported, timestamp: 550)])
            #expect(other == [CreateAccountResult(timestamp: 500, status: .exists)])
        }
    }
}

@Suite("create_accounts result timestamps")
struct CreateAccountTimestampTests {
    @Test("created: the assigned timestamp, T - n + i + 1", arguments: Layout.allCases)
    func createdTimestamps(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            let T = t.next
            let results = try t.createAccounts([acct(1), acct(2), acct(3)])
            #expect(results.map(\.timestamp) == [T - 2, T - 1, T])
            #expect(results.map(\.status) == [.created, .created, .created])
            #expect(t.account(1)?.timestamp == T - 2)
            #expect(t.account(3)?.timestamp == T)
            #expect(t.ledger.lastTimestamp == T)
        }
    }

    @Test("imported: created with the given timestamp", arguments: Layout.allCases)
    func importedTimestamps(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            let results = try t.createAccounts([
                acct(1, flags: .imported, timestamp: 10), acct(2, flags: .imported, timestamp: 20),
            ])
            #expect(results == [
                CreateAccountResult(timestamp: 10, status: .created),
                CreateAccountResult(timestamp: 20, status: .created),
            ])
            #expect(t.account(2)?.timestamp == 20)
            #expect(t.account(2)?.flags == .imported)
        }
    }

    @Test("exists: the original account's timestamp; other errors: the event's time", arguments: Layout.allCases)
    func existsTimestamp(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            let original = try t.createAccounts([acct(1)])[0].timestamp
            let T = t.next
            let results = try t.createAccounts([acct(1), acct(1, code: 2), acct(0)])
            #expect(results == [
                CreateAccountResult(timestamp: original, status: .exists),
                CreateAccountResult(timestamp: T - 1, status: .existsWithDifferentCode),
                CreateAccountResult(timestamp: T, status: .idMustNotBeZero),
            ])
        }
    }

    @Test("stored account: balances zero, fields copied, reserved zero", arguments: Layout.allCases)
    func storedFields(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            try t.setupAccounts([acct(7, ledger: 3, code: 4, flags: [.history, .debitsMustNotExceedCredits],
                                      userData128: 5, userData64: 6, userData32: 8)])
            let a = try #require(t.account(7))
            #expect(a.ledger == 3 && a.code == 4 && a.userData128 == 5 && a.userData64 == 6 && a.userData32 == 8)
            #expect(a.flags == [.history, .debitsMustNotExceedCredits])
            #expect(Balances(a) == Balances())
            #expect(a.reserved == 0)
        }
    }

    @Test("a batch timestamp that does not leave room for its events is rejected", arguments: Layout.allCases)
    func batchTimestampChecked(layout: Layout) throws {
        try Layout.$current.withValue(layout) { () throws -> Void in
            let t = TestLedger()
            try t.setupAccounts([acct(1)])
            let last = t.ledger.lastTimestamp
            #expect(throws: LedgerError.self) { try t.ledger.createAccounts([acct(2)], timestamp: last) }
            #expect(throws: LedgerError.self) { try t.ledger.createAccounts([acct(2), acct(3)], timestamp: last + 1) }
            #expect(t.account(2) == nil)
            #expect(try t.ledger.createAccounts([acct(2), acct(3)], timestamp: last + 2).map(\.status) == [.created, .created])
            #expect(try t.ledger.createAccounts([acct(4), acct(5), acct(6)], timestamp: last + 5).map(\.timestamp)
                == [last + 3, last + 4, last + 5])
            // nextBatchTimestamp (the serial ledger's) gives the smallest valid batch
            // timestamp, or the wall clock if later.
            guard let serial = t.ledger as? Ledger else { return }
            let n = serial.lastTimestamp
            #expect(serial.nextBatchTimestamp(wallClock: 0, count: 3) == n + 3)
            #expect(serial.nextBatchTimestamp(wallClock: n + 100, count: 1) == n + 100)
            #expect(serial.nextBatchTimestamp(wallClock: 0, count: 0) == n + 1)
        }
    }
}
