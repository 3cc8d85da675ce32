package import LedgerCore

/// The server's successful answer to a request of the same operation.
///
/// Lookups and queries return the records found; creates return one result per event,
/// in event order. `status` and `promote` return a UTF-8 JSON object (docs/protocol.md).
package enum Reply: Sendable, Hashable {
    case lookupAccounts([Account])
    case lookupTransfers([Transfer])
    case getAccountTransfers([Transfer])
    case getAccountBalances([AccountBalance])
    case queryAccounts([Account])
    case queryTransfers([Transfer])
    case createAccounts([CreateAccountResult])
    case createTransfers([CreateTransferResult])
    /// `AdminOperation.status`: the node's status, a UTF-8 JSON object.
    case status([UInt8])
    /// `AdminOperation.promote`: the outcome, a UTF-8 JSON object.
    case promote([UInt8])
    /// `AdminOperation.digest`: `{"lsn":N,"digest":"HEX"}`, a UTF-8 JSON object.
    case digest([UInt8])
    /// `AdminOperation.authenticate`: the accepted token's subject, rights, ledgers and
    /// expiry, a UTF-8 JSON object.
    case authenticate([UInt8])

    /// The operation byte in the header.
    package var code: UInt8 {
        switch self {
        case .status: return AdminOperation.status.rawValue
        case .promote: return AdminOperation.promote.rawValue
        case .digest: return AdminOperation.digest.rawValue
        case .authenticate: return AdminOperation.authenticate.rawValue
        default:
            guard let op = ledgerOperation else { preconditionFailure("every other reply is a ledger operation's") }
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

    /// The number of records (the header's `event_count`).
    package var recordCount: Int {
        switch self {
        case .lookupAccounts(let a), .queryAccounts(let a): return a.count
        case .lookupTransfers(let t), .getAccountTransfers(let t), .queryTransfers(let t): return t.count
        case .getAccountBalances(let b): return b.count
        case .createAccounts(let r): return r.count
        case .createTransfers(let r): return r.count
        case .status, .promote, .digest, .authenticate: return 0
        }
    }
}
