import LedgerEngine
import LedgerWire

extension RequestExecutor {
    /// Runs a lookup or query on the spot when the ledger's layout reads without
    /// suspending (the serial one), with the LSN of the state it saw; nil for any other
    /// request or layout (those take `answer`). The reply may leave only once
    /// `DurableLedger.whenReadable` says so: at once when its freshness shows it holds
    /// nothing newer than the durable log (then the LSN is the durable one).
    static func readNow(_ request: Request, ledger: DurableLedger) throws(EngineError) -> (reply: Reply, lsn: UInt64, timeline: UInt64)? {
        switch request {
        case .lookupAccounts(let ids):
            return try ledger.readNow { r in let v = r.lookupAccounts(ids); return (Reply.lookupAccounts(v), r.freshness(ofAccounts: v)) }.map { ($0.value, $0.lsn, $0.timeline) }
        case .lookupTransfers(let ids):
            return try ledger.readNow { r in let v = r.lookupTransfers(ids); return (Reply.lookupTransfers(v), r.freshness(ofTransfers: v)) }.map { ($0.value, $0.lsn, $0.timeline) }
        case .getAccountTransfers(let filter):
            return try ledger.readNow { r in let v = r.getAccountTransfers(filter); return (Reply.getAccountTransfers(v), r.freshness(ofTransfers: v)) }.map { ($0.value, $0.lsn, $0.timeline) }
        case .getAccountBalances(let filter):
            return try ledger.readNow { r in let v = r.getAccountBalances(filter); return (Reply.getAccountBalances(v), r.freshness(ofBalances: v)) }.map { ($0.value, $0.lsn, $0.timeline) }
        case .queryAccounts(let filter):
            return try ledger.readNow { r in let v = r.queryAccounts(filter); return (Reply.queryAccounts(v), r.freshness(ofAccounts: v)) }.map { ($0.value, $0.lsn, $0.timeline) }
        case .queryTransfers(let filter):
            return try ledger.readNow { r in let v = r.queryTransfers(filter); return (Reply.queryTransfers(v), r.freshness(ofTransfers: v)) }.map { ($0.value, $0.lsn, $0.timeline) }
        default:
            return nil
        }
    }
}
