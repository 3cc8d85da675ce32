package import LedgerClient
package import LedgerCore

/// The money check at the end of a run, through the API: looks up every account the run
/// made and checks, on the run's ledger,
/// - Σ debits_posted = Σ credits_posted and Σ debits_pending = Σ credits_pending;
/// - no account with `debits_must_not_exceed_credits` has debits above its credits;
/// - when every request's outcome is known, the posted and pending totals equal what the
///   acknowledged transfers add up to.
package enum InvariantCheck {
    /// - Parameter expectedCount: accounts known to exist (others in `ids` may not).
    package static func run(
        client: KaminoClient, ids: [UInt128], expectedCount: Int, ledger: UInt32, expectedPosted: Int64?, expectedPending: Int64?
    ) async throws(BenchError) -> InvariantOutcome {
        var accounts: [Account] = []
        accounts.reserveCapacity(ids.count)
        var start = 0
        while start < ids.count {
            let end = min(ids.count, start + 8189)
            do {
                accounts += try await client.lookupAccounts(Array(ids[start..<end]))
            } catch {
                throw BenchError(.checkFailed, "lookup_accounts failed during the money check: \(error)")
            }
            start = end
        }
        return evaluate(accounts, ledger: ledger, expectedCount: expectedCount,
                        expectedPosted: expectedPosted, expectedPending: expectedPending)
    }

    /// The checks on accounts already looked up (pure, for tests).
    package static func evaluate(
        _ accounts: [Account], ledger: UInt32, expectedCount: Int, expectedPosted: Int64?, expectedPending: Int64?
    ) -> InvariantOutcome {
        var dPosted: UInt128 = 0, cPosted: UInt128 = 0, dPending: UInt128 = 0, cPending: UInt128 = 0
        var overdrawn = 0
        var foreign = 0
        for a in accounts {
            guard a.ledger == ledger else {
                foreign += 1
                continue
            }
            dPosted &+= a.debitsPosted
            cPosted &+= a.creditsPosted
            dPending &+= a.debitsPending
            cPending &+= a.creditsPending
            if a.flags.contains(.debitsMustNotExceedCredits), a.debitsPosted &+ a.debitsPending > a.creditsPosted {
                overdrawn += 1
            }
        }
        var checks: [(String, Bool, String)] = [
            ("every account found", accounts.count >= expectedCount && foreign == 0,
             "\(accounts.count) found, \(expectedCount) expected, \(foreign) on another ledger"),
            ("debits_posted = credits_posted", dPosted == cPosted, "\(dPosted) vs \(cPosted)"),
            ("debits_pending = credits_pending", dPending == cPending, "\(dPending) vs \(cPending)"),
            ("no overdrawn limited account", overdrawn == 0, "\(overdrawn) overdrawn"),
        ]
        if let expectedPosted, let expectedPending {
            checks.append(("posted total = acknowledged transfers", dPosted == UInt128(max(0, expectedPosted)),
                           "\(dPosted) vs \(expectedPosted)"))
            checks.append(("pending total = acknowledged transfers", dPending == UInt128(max(0, expectedPending)),
                           "\(dPending) vs \(expectedPending)"))
        }
        return InvariantOutcome(ok: checks.allSatisfy(\.1), accounts: accounts.count,
                                checks: checks.map { (name: $0.0, ok: $0.1, detail: $0.2) })
    }
}
