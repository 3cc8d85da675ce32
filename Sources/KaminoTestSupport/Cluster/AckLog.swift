package import LedgerClient
package import LedgerCore
import LedgerWorkload
import Synchronization

/// Every create a node acknowledged, with the wall-clock time of the acknowledgement and
/// the node's client address: the record a replication test checks a cluster against
/// (nothing acknowledged may be lost; acknowledgement timelines of two nodes must not
/// overlap). Safe to share between load tasks.
package final class AckLog: Sendable {
    /// One acknowledged transfer: what was sent, the reply's status and timestamp.
    package struct Entry: Sendable {
        package var transfer: Transfer
        package var status: CreateTransferStatus
        /// The ledger timestamp of the reply (the transfer's timestamp for `created` and `exists`).
        package var timestamp: UInt64
        /// Wall-clock seconds (`wallClockSeconds()`) when the reply arrived.
        package var ackedAt: Double
        /// The client address of the node that acknowledged it.
        package var node: String
    }

    private let state = Mutex(AckLogState())

    package init() {}

    /// Records the accounts whose create answered `created` or `exists` (their ids are
    /// what the money invariants sum over).
    package func recordAccounts(_ accounts: [Account], results: [CreateAccountResult]) {
        precondition(accounts.count == results.count, "one result per account")
        let ids = zip(accounts, results).filter { $0.1.status == .created || $0.1.status == .exists }.map(\.0.id)
        state.withLock { $0.accountIds.formUnion(ids) }
    }

    /// Records the transfers of one create whose result is `created` or `exists`
    /// (`exists` only outside linked chains means applied; the caller sends chains
    /// once). Returns how many were acknowledged.
    @discardableResult
    package func recordTransfers(_ transfers: [Transfer], results: [CreateTransferResult], node: String) -> Int {
        precondition(transfers.count == results.count, "one result per transfer")
        let now = wallClockSeconds()
        let entries = zip(transfers, results).compactMap { t, r -> Entry? in
            guard r.status == .created || r.status == .exists else { return nil }
            return Entry(transfer: t, status: r.status, timestamp: r.timestamp, ackedAt: now, node: node)
        }
        state.withLock { $0.entries += entries }
        return entries.count
    }

    /// Every acknowledged transfer so far, in order of acknowledgement.
    package var entries: [Entry] { state.withLock { $0.entries } }

    /// The ids of the accounts created.
    package var accountIds: [UInt128] { state.withLock { $0.accountIds.sorted() } }

    /// Looks every acknowledged transfer up through `client` (in batches of 8189) and
    /// compares its fields with what was sent and acknowledged; then checks the money
    /// invariants over the accounts created. Returns the problems (empty: all good).
    package func checkEveryAckedTransferPresent(on client: KaminoClient) async -> [String] {
        let entries = self.entries
        var problems: [String] = []
        var lost = 0
        var start = 0
        while start < entries.count {
            let chunk = entries[start..<min(start + 8189, entries.count)]
            start += chunk.count
            let found: [Transfer]
            do {
                found = try await client.lookupTransfers(chunk.map(\.transfer.id))
            } catch {
                return problems + ["lookup_transfers failed: \(error)"]
            }
            let byId = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for ack in chunk {
                let sent = ack.transfer
                guard let stored = byId[sent.id] else {
                    lost += 1
                    if lost <= 10 { problems.append("acknowledged transfer \(sent.id) (by \(ack.node)) is missing") }
                    continue
                }
                if stored.amount != sent.amount || stored.debitAccountId != sent.debitAccountId
                    || stored.creditAccountId != sent.creditAccountId || stored.ledger != sent.ledger
                    || stored.code != sent.code || stored.pendingId != sent.pendingId || stored.flags != sent.flags
                    || stored.userData128 != sent.userData128 || stored.userData64 != sent.userData64
                    || stored.userData32 != sent.userData32 || stored.timestamp != ack.timestamp
                {
                    problems.append("transfer \(sent.id) differs: sent \(sent), acknowledged at \(ack.timestamp), stored \(stored)")
                }
            }
        }
        if lost > 10 { problems.append("\(lost) acknowledged transfers are missing in all") }
        return problems + (await moneyInvariantProblems(on: client))
    }

    /// The money invariants (per ledger: posted debits = posted credits, pending debits =
    /// pending credits; account limits) over the accounts created, looked up through `client`.
    package func moneyInvariantProblems(on client: KaminoClient) async -> [String] {
        let ids = accountIds
        var accounts: [Account] = []
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + 8189, ids.count)])
            start += chunk.count
            do {
                accounts += try await client.lookupAccounts(chunk)
            } catch {
                return ["lookup_accounts failed: \(error)"]
            }
        }
        var problems = moneyInvariantViolations(accounts)
        if accounts.count != ids.count { problems.append("\(accounts.count) of \(ids.count) created accounts found") }
        return problems
    }
}

/// What an `AckLog` holds.
private struct AckLogState {
    var entries: [AckLog.Entry] = []
    var accountIds: Set<UInt128> = []
}
