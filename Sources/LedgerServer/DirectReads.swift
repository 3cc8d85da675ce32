import LedgerCore
import LedgerEngine
import LedgerWire

extension RequestExecutor {
    /// Runs a lookup or query on the spot when the ledger's layout reads without
    /// suspending (the serial one), with the LSN of the state it saw; nil for any other
    /// request or layout (those take `answer`). The reply may leave only once
    /// `DurableLedger.whenReadable` says so: at once when its freshness shows it holds
    /// nothing newer than the durable log (then the LSN is the durable one); `durable`
    /// says it may leave at once with no `whenReadable` (`DurableLedger.readNowLSN`).
    static func readNow(_ request: Request, ledger: DurableLedger) throws(EngineError) -> DirectRead? {
        switch request {
        case .lookupAccounts(let ids):
            return try read(ledger) { r in let v = r.lookupAccounts(ids); return (.lookupAccounts(v), r.freshness(ofAccounts: v)) }
        case .lookupTransfers(let ids):
            return try read(ledger) { r in let v = r.lookupTransfers(ids); return (.lookupTransfers(v), r.freshness(ofTransfers: v)) }
        case .getAccountTransfers(let filter):
            return try read(ledger) { r in let v = r.getAccountTransfers(filter); return (.getAccountTransfers(v), r.freshness(ofTransfers: v)) }
        case .getAccountBalances(let filter):
            return try read(ledger) { r in let v = r.getAccountBalances(filter); return (.getAccountBalances(v), r.freshness(ofBalances: v)) }
        case .queryAccounts(let filter):
            return try read(ledger) { r in let v = r.queryAccounts(filter); return (.queryAccounts(v), r.freshness(ofAccounts: v)) }
        case .queryTransfers(let filter):
            return try read(ledger) { r in let v = r.queryTransfers(filter); return (.queryTransfers(v), r.freshness(ofTransfers: v)) }
        default:
            return nil
        }
    }

    /// One direct read through the ledger's non-generic `readNowLSN`: the
    /// generic `readNow` builds tuple type metadata at run time on every read (it is not
    /// specialized across modules), about a tenth of the server's instructions per read.
    @inline(__always)
    private static func read(
        _ ledger: DurableLedger, _ body: (any LedgerReading) -> (reply: Reply, freshness: UInt64)
    ) throws(EngineError) -> DirectRead? {
        var reply: Reply?
        let at = try ledger.readNowLSN { r in
            let answer = body(r)
            reply = answer.reply
            return answer.freshness
        }
        guard let at else { return nil }
        guard let reply else {
            assertionFailure("readNow answered without running the read")
            return nil
        }
        return DirectRead(reply: reply, lsn: at.lsn, timeline: at.timeline, durable: at.durable)
    }
}

/// A read answered on the event loop (`RequestExecutor.readNow`).
struct DirectRead {
    var reply: Reply
    /// The LSN of the state the reply stands for.
    var lsn: UInt64
    /// The log's timeline that state belongs to.
    var timeline: UInt64
    /// The state was durable (and no gate holds answers): the reply may leave at once.
    var durable: Bool
}
