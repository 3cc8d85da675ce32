public import LedgerCore

extension Workload {
    /// Checks the money invariants of `ledger` over the workload's accounts and returns
    /// what is violated (empty when all hold): per ledger, posted debits equal posted
    /// credits and pending debits equal pending credits; every balance limit holds.
    /// Before LSN 1 is applied the ledger has no accounts, which is also consistent.
    public func invariantViolations(of ledger: Ledger) -> [String] {
        let accounts = ledger.lookupAccounts(allAccountIds)
        guard !accounts.isEmpty else { return ledger.accountCount == 0 ? [] : ["accounts missing"] }
        var problems: [String] = []
        if accounts.count != ledgers * accountsPerLedger || ledger.accountCount != accounts.count {
            problems.append("\(accounts.count) workload accounts found, ledger holds \(ledger.accountCount)")
        }
        return problems + moneyInvariantViolations(accounts)
    }
}

/// The money invariants over `accounts` (all the accounts of their ledgers): per ledger,
/// posted debits equal posted credits and pending debits equal pending credits; every
/// balance limit (`debits_must_not_exceed_credits`, `credits_must_not_exceed_debits`)
/// holds. Returns what is violated, empty when all hold.
public func moneyInvariantViolations(_ accounts: [Account]) -> [String] {
    var problems: [String] = []
    var sums: [UInt32: (dPost: UInt128, cPost: UInt128, dPend: UInt128, cPend: UInt128)] = [:]
    for a in accounts {
        var s = sums[a.ledger] ?? (0, 0, 0, 0)
        s.dPost += a.debitsPosted
        s.cPost += a.creditsPosted
        s.dPend += a.debitsPending
        s.cPend += a.creditsPending
        sums[a.ledger] = s
        if a.flags.contains(.debitsMustNotExceedCredits), a.debitsPosted + a.debitsPending > a.creditsPosted {
            problems.append("account \(a.id): debits \(a.debitsPosted)+\(a.debitsPending) exceed credits \(a.creditsPosted)")
        }
        if a.flags.contains(.creditsMustNotExceedDebits), a.creditsPosted + a.creditsPending > a.debitsPosted {
            problems.append("account \(a.id): credits \(a.creditsPosted)+\(a.creditsPending) exceed debits \(a.debitsPosted)")
        }
    }
    for (l, s) in sums.sorted(by: { $0.key < $1.key }) {
        if s.dPost != s.cPost { problems.append("ledger \(l): posted debits \(s.dPost) != posted credits \(s.cPost)") }
        if s.dPend != s.cPend { problems.append("ledger \(l): pending debits \(s.dPend) != pending credits \(s.cPend)") }
    }
    return problems
}
