extension ExpiryQueue {
    /// The deadline of the earliest entry whose transfer is still pending in `statuses`
    /// (nil: none). Entries of transfers posted or voided since are dropped on the way:
    /// expiry would skip them anyway, so dropping changes nothing that expiry does, and
    /// each entry is dropped at most once (amortized O(1) per call).
    @inline(__always)
    mutating func earliestPending(statuses: ChunkedStore<UInt8>, count: Int) -> UInt64? {
        while let top = first {
            let ref = Int(top.ref)
            if ref < count, statuses[ref] == PendingStatus.pending.rawValue { return top.expiresAt }
            _ = popFirst()
        }
        return nil
    }
}

extension Ledger {
    /// The earliest deadline (`timestamp + timeout`, ns) of a transfer still pending, or
    /// nil when none has a timeout: a `pulse` stamped at or after it expires that
    /// transfer. Drops queued expiries of transfers that are no longer pending (see
    /// `ExpiryQueue.earliestPending`), so call it between batches only: inside a linked
    /// chain a rollback may make a transfer pending again.
    package func nextPendingDeadline() -> UInt64? {
        precondition(!scope.pointee.isOpen, "the pending deadline is read between batches only")
        return expiry.earliestPending(statuses: pendingStatuses, count: transfers.count)
    }
}

extension ShardedLedger {
    /// The earliest deadline of a transfer still pending on any shard (see
    /// `Ledger.nextPendingDeadline`); between batches only.
    package func nextPendingDeadline() -> UInt64? {
        rounds.requireIdle()
        var earliest: UInt64?
        for store in stores {
            if let d = store.expiry.earliestPending(statuses: store.pendingStatuses, count: store.transfers.count) {
                earliest = min(earliest ?? d, d)
            }
        }
        return earliest
    }
}
