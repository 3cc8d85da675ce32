package import LedgerCore

/// The server's successful answer to a request of the same operation.
///
/// Lookups and queries return the records found; creates return one result per event,
/// in event order.
package enum Reply: Sendable, Hashable {
    case lookupAccounts([Account])
    case lookupTransfers([Transfer])
    case getAccountTransfers([Transfer])
    case getAccountBalances([AccountBalance])
    case queryAccounts([Account])
    case queryTransfers([Transfer])
    case createAccounts([CreateAccountResult])
    case createTransfers([CreateTransferResult])

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

    /// The number of records (the header's `event_count`).
    package var recordCount: Int {
        switch self {
        case .lookupAccounts(let a), .queryAccounts(let a): return a.count
        case .lookupTransfers(let t), .getAccountTransfers(let t), .queryTransfers(let t): return t.count
        case .getAccountBalances(let b): return b.count
        case .createAccounts(let r): return r.count
        case .createTransfers(let r): return r.count
        }
    }
}
