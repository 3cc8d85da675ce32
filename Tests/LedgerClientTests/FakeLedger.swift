import LedgerCore
import LedgerWire

/// Executes requests against an in-memory `Ledger`; timestamps come from a counter
/// (the ledger's `nextBatchTimestamp` with a zero wall clock). Its LSN counts the
/// create batches applied; every reply carries it as `state_lsn`.
struct FakeLedger {
    let ledger = Ledger()
    /// Create batches applied so far.
    private(set) var lsn: UInt64 = 0

    /// The reply to `request`, or the error reply when the ledger refuses the batch.
    mutating func execute(_ request: Request, id: UInt64) -> Message {
        do throws(LedgerError) {
            let answer = try reply(request)
            if request.ledgerOperation?.isMutating == true { lsn += 1 }
            return .reply(id: id, answer, stateLSN: lsn)
        } catch {
            return .errorReply(
                ErrorReply(requestId: id, operation: request.code, rawCode: 15, message: error.description))
        }
    }

    /// Reads `request` (a lookup or query) and answers with `stateLSN` instead of the
    /// ledger's LSN: a follower that lags.
    func read(_ request: Request, id: UInt64, stateLSN: UInt64) -> Message {
        guard let answer = try? reply(request) else { preconditionFailure("reads never throw") }
        return .reply(id: id, answer, stateLSN: stateLSN)
    }

    private func reply(_ request: Request) throws(LedgerError) -> Reply {
        switch request {
        case .createAccounts(let a):
            return .createAccounts(try ledger.createAccounts(a, timestamp: next(a.count)))
        case .createTransfers(let t):
            return .createTransfers(try ledger.createTransfers(t, timestamp: next(t.count)))
        case .lookupAccounts(let ids): return .lookupAccounts(ledger.lookupAccounts(ids))
        case .lookupTransfers(let ids): return .lookupTransfers(ledger.lookupTransfers(ids))
        case .getAccountTransfers(let f): return .getAccountTransfers(ledger.getAccountTransfers(f))
        case .getAccountBalances(let f): return .getAccountBalances(ledger.getAccountBalances(f))
        case .queryAccounts(let f): return .queryAccounts(ledger.queryAccounts(f))
        case .queryTransfers(let f): return .queryTransfers(ledger.queryTransfers(f))
        case .status: return .status(Array(#"{"role":"standalone","epoch":0}"#.utf8))
        case .promote: return .promote(Array(#"{"role":"primary","epoch":1}"#.utf8))
        case .digest: return .digest(Array("{\"lsn\":0,\"digest\":\"\(ledger.digest())\"}".utf8))
        case .authenticate: return .authenticate(Array(#"{"auth":"off","subject":"-"}"#.utf8))
        }
    }

    private func next(_ count: Int) -> UInt64 {
        ledger.nextBatchTimestamp(wallClock: 0, count: count)
    }
}
