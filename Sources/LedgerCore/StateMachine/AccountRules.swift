/// The checks of `create_accounts` that depend only on the request and the existing
/// account, in the reference's order of precedence; shared by `Ledger` and the sharded
/// ledger.
enum AccountRules {
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
