package import LedgerClient
import LedgerCore

/// Creates the run's accounts before the measured phase: the pool (users with a
/// no-overdraft limit in the bank mix, plain accounts in the transfers mix) and, in the
/// bank mix, a funding account that credits every user an opening balance.
package enum BenchSetup {
    /// Opening balance of each bank user.
    package static let openingBalance: Int64 = 1_000_000

    /// Creates everything; returns the amount posted by the set-up transfers.
    package static func run(
        configuration: BenchConfiguration, identity: RunIdentity, clients: [KaminoClient]
    ) async throws(BenchError) -> Int64 {
        let n = configuration.accounts
        let bank = configuration.mix == .bank
        var accountBatches: [[Account]] = []
        if bank {
            accountBatches.append([Account(id: identity.fundingAccountId, ledger: identity.ledger, code: 1)])
        }
        var start = 0
        while start < n {
            let end = min(n, start + 8189)
            accountBatches.append((start..<end).map { i in
                Account(id: identity.accountId(i), ledger: identity.ledger, code: 10,
                        flags: bank ? .debitsMustNotExceedCredits : [])
            })
            start = end
        }
        try await send(accountBatches, clients: clients) { client, batch throws(KaminoClientError) in
            try await client.createAccounts(batch).first { $0.status != .created }.map { "create_accounts: \($0.status)" }
        }
        guard bank else { return 0 }
        var fundingBatches: [[Transfer]] = []
        start = 0
        while start < n {
            let end = min(n, start + 8189)
            fundingBatches.append((start..<end).map { i in
                Transfer(id: identity.setupTransferId(i), debitAccountId: identity.fundingAccountId,
                         creditAccountId: identity.accountId(i), amount: UInt128(openingBalance),
                         ledger: identity.ledger, code: 2)
            })
            start = end
        }
        try await send(fundingBatches, clients: clients) { client, batch throws(KaminoClientError) in
            try await client.createTransfers(batch).first { $0.status != .created }.map { "funding transfer: \($0.status)" }
        }
        return openingBalance * Int64(n)
    }

    /// Sends the batches, a few at a time; fails on the first problem `body` reports.
    private static func send<E: Sendable>(
        _ batches: [[E]], clients: [KaminoClient],
        _ body: @escaping @Sendable (KaminoClient, [E]) async throws(KaminoClientError) -> String?
    ) async throws(BenchError) {
        let parallel = min(4, max(1, clients.count))
        var next = 0
        while next < batches.count {
            let wave = Array(batches[next..<min(batches.count, next + parallel)])
            next += wave.count
            let problems = await withTaskGroup(of: String?.self) { group in
                for (i, batch) in wave.enumerated() {
                    let client = clients[i % clients.count]
                    group.addTask {
                        do throws(KaminoClientError) {
                            return try await body(client, batch)
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var found: [String] = []
                for await p in group { if let p { found.append(p) } }
                return found
            }
            if let first = problems.first {
                throw BenchError(.setupFailed, "setting up the accounts failed: \(first)")
            }
        }
    }
}
