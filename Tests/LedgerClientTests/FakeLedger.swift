import LedgerCore
import LedgerWire

/// Executes requests against an in-memory `Ledger`; timestamps come from a counter
/// (the ledger's `nextBatchTimestamp` with a zero wall clock).
struct FakeLedger {
    let ledger = Ledger()

    /// The reply to `request`, or the error reply when the ledger refuses the batch.
    func execute(_ request: Request, id: UInt64) -> Message {
        do throws(LedgerError) {
            return .reply(id: id, try reply(request))
        } catch {
            return .errorReply(
                ErrorReply(requestId: id, operation: request.operation.rawValue, rawCode: 15, message: error.description))
        }
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
        case .status, .promote: preconditionFailure("the fake servers get no admin requests")
        }
    }

    private func next(_ count: Int) -> UInt64 {
        ledger.nextBatchTimestamp(wallClock: 0, count: count)
    }
}
