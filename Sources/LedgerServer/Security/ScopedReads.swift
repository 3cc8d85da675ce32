import KaminoAuth
import LedgerCore
import LedgerEngine
import LedgerWire

/// Reads for a token limited to some ledgers: each answer holds only records of those
/// ledgers, read in one consistent state (docs/security.md, "Ledger-limited tokens").
///
/// Lookups drop records of other ledgers (as if they did not exist); `get_account_*` of
/// an account on another ledger answer nothing; queries with `ledger` 0 run once per
/// allowed ledger and merge by timestamp, so `limit` and the order mean what they mean
/// for an unlimited token; queries naming another ledger answer nothing.
enum ScopedReads {
    /// The most ledgers a query with `ledger` 0 is split into; a token with more is
    /// answered from one query filtered afterwards (fewer records than `limit` may come
    /// back even when more exist).
    static let maxSplitLedgers = 64

    static func answer(_ request: Request, id: UInt64, ledger: DurableLedger, principal: Principal) async -> Message {
        do {
            let (reply, lsn) = try await ledger.readAt { state in read(request, state: state, principal: principal) }
            guard let reply else {
                return .errorReply(ErrorReply(
                    requestId: id, operation: request.code, rawCode: WireError.Code.internalError.rawValue,
                    message: "not a read"))
            }
            return .reply(id: id, reply, stateLSN: lsn)
        } catch {
            return .errorReply(RequestExecutor.errorReply(error, request: request, id: id))
        }
    }

    /// The scoped answer of a read; nil for anything else.
    static func read(_ request: Request, state: any LedgerReading, principal: Principal) -> Reply? {
        let allowed = { (l: UInt32) in principal.allows(ledger: l) }
        func accountAllowed(_ id: UInt128) -> Bool { state.lookupAccounts([id]).first.map { allowed($0.ledger) } ?? false }
        switch request {
        case .lookupAccounts(let ids): return .lookupAccounts(state.lookupAccounts(ids).filter { allowed($0.ledger) })
        case .lookupTransfers(let ids): return .lookupTransfers(state.lookupTransfers(ids).filter { allowed($0.ledger) })
        case .getAccountTransfers(let f):
            return .getAccountTransfers(accountAllowed(f.accountId) ? state.getAccountTransfers(f) : [])
        case .getAccountBalances(let f):
            return .getAccountBalances(accountAllowed(f.accountId) ? state.getAccountBalances(f) : [])
        case .queryAccounts(let f):
            return .queryAccounts(query(f, principal: principal, run: state.queryAccounts, ledger: \.ledger, timestamp: \.timestamp))
        case .queryTransfers(let f):
            return .queryTransfers(query(f, principal: principal, run: state.queryTransfers, ledger: \.ledger, timestamp: \.timestamp))
        case .createAccounts, .createTransfers, .status, .promote, .digest, .authenticate:
            return nil
        }
    }

    private static func query<Record>(
        _ filter: QueryFilter, principal: Principal, run: (QueryFilter) -> [Record], ledger: KeyPath<Record, UInt32>,
        timestamp: KeyPath<Record, UInt64>
    ) -> [Record] {
        guard let ledgers = principal.ledgers else { return run(filter) }
        if filter.ledger != 0 { return ledgers.contains(filter.ledger) ? run(filter) : [] }
        guard ledgers.count <= maxSplitLedgers else { return run(filter).filter { ledgers.contains($0[keyPath: ledger]) } }
        var merged: [Record] = []
        for l in ledgers.sorted() {
            var one = filter
            one.ledger = l
            merged.append(contentsOf: run(one))
        }
        let reversed = filter.flags.contains(.reversed)
        merged.sort { reversed ? $0[keyPath: timestamp] > $1[keyPath: timestamp] : $0[keyPath: timestamp] < $1[keyPath: timestamp] }
        let limit = min(Int(filter.limit), WireLimits.batchMax)
        return merged.count > limit ? Array(merged.prefix(limit)) : merged
    }
}
