/// What a run sends.
package enum BenchMix: String, Sendable, CaseIterable {
    /// `create_transfers` only, in batches (TigerBeetle's benchmark shape: 10k accounts,
    /// batches of 8189, no balance limits).
    case transfers
    /// A retail bank: balance lookups, statements, dashboards, transfers and account
    /// registrations over a pool of users with no-overdraft limits.
    case bank
}

/// One action of the bank mix, with its share of all actions.
package enum BankAction: Int, Sendable, CaseIterable {
    /// `lookup_accounts` of one user.
    case balance
    /// `get_account_transfers`, newest first, a page of 20, then the next page when the
    /// first was full.
    case statement
    /// The account and its latest 10 transfers, fetched concurrently.
    case dashboard
    /// One transfer between two users (refused `exceeds_credits` when the payer lacks
    /// the money: an expected answer, not an error).
    case transfer
    /// `create_accounts` of one new user.
    case registration

    /// The share of the mix, in percent (they sum to 100).
    package var percent: Int {
        switch self {
        case .balance: return 40
        case .statement: return 25
        case .dashboard: return 20
        case .transfer: return 10
        case .registration: return 5
        }
    }

    /// The name in reports.
    package var name: String {
        switch self {
        case .balance: return "balance"
        case .statement: return "statement"
        case .dashboard: return "dashboard"
        case .transfer: return "transfer"
        case .registration: return "registration"
        }
    }

    /// The action for a uniform draw `r` in `0..<100`.
    package static func forDraw(_ r: Int) -> BankAction {
        var acc = 0
        for action in allCases {
            acc += action.percent
            if r < acc { return action }
        }
        return .registration
    }

    /// The next action from a worker's random stream.
    @inline(__always)
    package static func next(_ rng: inout BenchRandom) -> BankAction {
        forDraw(rng.below(100))
    }
}
