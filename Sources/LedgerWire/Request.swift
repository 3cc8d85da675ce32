package import LedgerCore

/// A client's request: one operation and its events.
///
/// Lookups carry ids; queries carry exactly one filter; creates carry records.
package enum Request: Sendable, Hashable {
    case lookupAccounts([UInt128])
    case lookupTransfers([UInt128])
    case getAccountTransfers(AccountFilter)
    case getAccountBalances(AccountFilter)
    case queryAccounts(QueryFilter)
    case queryTransfers(QueryFilter)
    case createAccounts([Account])
    case createTransfers([Transfer])

    /// The operation code in the header.
    package var operation: Operation {
        switch self {
        case .lookupAccounts: return .lookupAccounts
        case .lookupTransfers: return .lookupTransfers
        case .getAccountTransfers: return .getAccountTransfers
        case .getAccountBalances: return .getAccountBalances
        case .queryAccounts: return .queryAccounts
        case .queryTransfers: return .queryTransfers
        case .createAccounts: return .createAccounts
        case .createTransfers: return .createTransfers
        }
    }

    /// The number of events (the header's `event_count`).
    package var eventCount: Int {
        switch self {
        case .lookupAccounts(let ids), .lookupTransfers(let ids): return ids.count
        case .getAccountTransfers, .getAccountBalances, .queryAccounts, .queryTransfers: return 1
        case .createAccounts(let accounts): return accounts.count
        case .createTransfers(let transfers): return transfers.count
        }
    }
}
