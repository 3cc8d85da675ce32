import LedgerEngine
import LedgerWire

extension RequestExecutor {
    /// Runs a lookup or query on the spot when the ledger's layout reads without
    /// suspending (the serial one), with the LSN of the state it saw; nil for any other
    /// request or layout (those take `answer`). The reply may leave only once
    /// `DurableLedger.whenReadable` says so.
    static func readNow(_ request: Request, ledger: DurableLedger) throws(EngineError) -> (reply: Reply, lsn: UInt64)? {
        switch request {
        case .lookupAccounts(let ids):
            return try ledger.readNow { Reply.lookupAccounts($0.lookupAccounts(ids)) }.map { ($0.value, $0.lsn) }
        case .lookupTransfers(let ids):
            return try ledger.readNow { Reply.lookupTransfers($0.lookupTransfers(ids)) }.map { ($0.value, $0.lsn) }
        case .getAccountTransfers(let filter):
            return try ledger.readNow { Reply.getAccountTransfers($0.getAccountTransfers(filter)) }.map { ($0.value, $0.lsn) }
        case .getAccountBalances(let filter):
            return try ledger.readNow { Reply.getAccountBalances($0.getAccountBalances(filter)) }.map { ($0.value, $0.lsn) }
        case .queryAccounts(let filter):
            return try ledger.readNow { Reply.queryAccounts($0.queryAccounts(filter)) }.map { ($0.value, $0.lsn) }
        case .queryTransfers(let filter):
            return try ledger.readNow { Reply.queryTransfers($0.queryTransfers(filter)) }.map { ($0.value, $0.lsn) }
        default:
            return nil
        }
    }
}
