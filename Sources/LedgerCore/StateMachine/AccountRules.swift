/// What deciding one `create_account` event reads, as one layout finds it.
protocol AccountDecisionView {
    /// The stored account with this id (neither 0 nor max), if any. A view may remember
    /// where a new one would go.
    mutating func existing(_ id: UInt128) -> Account?
    /// The reference's rule for imported timestamps: true unless `ts` is strictly after
    /// every account and different from every transfer's timestamp.
    func importedTimestampRegresses(_ ts: UInt64) -> Bool
}

/// The rules of `create_accounts`, in the reference's order of precedence: one ladder
/// (`decide`) that `Ledger` and the sharded ledger both apply.
enum AccountRules {
    /// The one precedence ladder of `create_account` (after the batch driver's checks):
    /// the status to report, or nil to create the account with timestamp `actual`.
    @inline(__always)
    static func decide<View: AccountDecisionView>(
        _ a: Account, at ts: UInt64, in view: inout View
    ) -> (status: CreateAccountStatus, timestamp: UInt64) {
        if a.reserved != 0 { return (.reservedField, ts) }
        if a.flags.rawValue & AccountFlags.reservedMask != 0 { return (.reservedFlag, ts) }
        if a.id == 0 { return (.idMustNotBeZero, ts) }
        if a.id == .max { return (.idMustNotBeIntMax, ts) }
        if let e = view.existing(a.id) { return exists(a, e) }
        if let status = checkNew(a) { return (status, ts) }
        if a.flags.contains(.imported) {
            // After the idempotency checks, so that re-imports still report `exists`.
            if view.importedTimestampRegresses(a.timestamp) { return (.importedEventTimestampMustNotRegress, ts) }
            return (.created, a.timestamp)
        }
        return (.created, ts)
    }

    /// Checks of a new account that need no state: flags and zero balances, ledger, code.
    @inline(__always)
    static func checkNew(_ a: Account) -> CreateAccountStatus? {
        if a.flags.contains(.debitsMustNotExceedCredits) && a.flags.contains(.creditsMustNotExceedDebits) {
            return .flagsAreMutuallyExclusive
        }
        if a.debitsPending != 0 { return .debitsPendingMustBeZero }
        if a.debitsPosted != 0 { return .debitsPostedMustBeZero }
        if a.creditsPending != 0 { return .creditsPendingMustBeZero }
        if a.creditsPosted != 0 { return .creditsPostedMustBeZero }
        if a.ledger == 0 { return .ledgerMustNotBeZero }
        if a.code == 0 { return .codeMustNotBeZero }
        return nil
    }

    /// Idempotency: the result of creating `a` when `e` already has its id.
    static func exists(_ a: Account, _ e: Account) -> (CreateAccountStatus, UInt64) {
        let ts = e.timestamp
        if a.flags != e.flags { return (.existsWithDifferentFlags, ts) }
        if a.userData128 != e.userData128 { return (.existsWithDifferentUserData128, ts) }
        if a.userData64 != e.userData64 { return (.existsWithDifferentUserData64, ts) }
        if a.userData32 != e.userData32 { return (.existsWithDifferentUserData32, ts) }
        if a.ledger != e.ledger { return (.existsWithDifferentLedger, ts) }
        if a.code != e.code { return (.existsWithDifferentCode, ts) }
        return (.exists, ts)
    }
}
