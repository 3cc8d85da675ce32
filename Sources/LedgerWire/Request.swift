package import LedgerCore

/// A client's request: one operation and its events.
///
/// Lookups carry ids; queries carry exactly one filter; creates carry records. `status`
/// and `promote` (Kamino's `AdminOperation`s) carry nothing.
package enum Request: Sendable, Hashable {
    case lookupAccounts([UInt128])
    case lookupTransfers([UInt128])
    case getAccountTransfers(AccountFilter)
    case getAccountBalances(AccountFilter)
    case queryAccounts(QueryFilter)
    case queryTransfers(QueryFilter)
    case createAccounts([Account])
    case createTransfers([Transfer])
    /// `AdminOperation.status`: the node's replication status.
    case status
    /// `AdminOperation.promote`: make this follower the primary.
    case promote
    /// `AdminOperation.digest`: the state digest now.
    case digest
    /// `AdminOperation.authenticate`: the token's bytes (a JWT in compact form).
    case authenticate([UInt8])

    /// The operation byte in the header.
    package var code: UInt8 {
        switch self {
        case .status: return AdminOperation.status.rawValue
        case .promote: return AdminOperation.promote.rawValue
        case .digest: return AdminOperation.digest.rawValue
        case .authenticate: return AdminOperation.authenticate.rawValue
        default:
            guard let op = ledgerOperation else { preconditionFailure("every other request is a ledger operation") }
            return op.rawValue
        }
    }

    /// The ledger operation, nil for the admin operations.
    package var ledgerOperation: Operation? {
        switch self {
        case .status, .promote, .digest, .authenticate: return nil
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
        case .status, .promote, .digest, .authenticate: return 0
        }
    }
}
