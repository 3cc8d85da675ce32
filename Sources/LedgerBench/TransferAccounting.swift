package import LedgerCore

/// Turns the results of a `create_transfers` call into counts, statuses and money
/// totals, so the end-of-run check can compare balances with what was acknowledged.
package struct TransferAccounting {
    /// Statuses that are answers of the workload rather than failures.
    package let expected: Set<CreateTransferStatus>

    package init(mix: BenchMix) {
        switch mix {
        case .transfers: expected = [.created]
        case .bank: expected = [.created, .exceedsCredits, .pendingTransferNotFound]
        }
    }

    /// Adds `results` of `batch` to `outcome`; returns (created, non-created statuses, unexpected).
    package func account(
        _ batch: [Transfer], _ results: [CreateTransferResult], into outcome: inout WorkerOutcome
    ) -> (created: Int, statuses: [String: Int], unexpected: Int) {
        var created = 0
        var statuses: [String: Int] = [:]
        var unexpected = 0
        for (t, r) in zip(batch, results) {
            guard r.status == .created else {
                statuses[ErrorLabels.snakeCase(r.status), default: 0] += 1
                if !expected.contains(r.status) { unexpected += 1 }
                continue
            }
            created += 1
            let amount = Int64(truncatingIfNeeded: t.amount)
            if t.flags.contains(.pending) {
                outcome.pending += amount
            } else if t.flags.contains(.postPendingTransfer) {
                outcome.pending -= amount
                outcome.posted += amount
            } else if t.flags.contains(.voidPendingTransfer) {
                outcome.pending -= amount
            } else {
                outcome.posted += amount
            }
        }
        if results.count != batch.count { unexpected += 1 }
        outcome.unexpected += unexpected
        return (created, statuses, unexpected)
    }
}
