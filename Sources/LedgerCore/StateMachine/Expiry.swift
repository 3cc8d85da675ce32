extension Ledger {
    /// Expires every pending transfer whose deadline (`timestamp + timeout`) is at or
    /// before `cutoff`: releases its reserved amounts and reopens accounts it closed.
    ///
    /// Runs at the start of each batch with the time just before its first event, so
    /// expiry follows the log's timestamps only and every replica expires identically.
    func expirePending(before firstEventTimestamp: UInt64) {
        let cutoff = firstEventTimestamp - 1
        while let top = expiry.first, top.expiresAt <= cutoff {
            _ = expiry.popFirst()
            let ref = Int(top.ref)
            guard ref < transfers.count, pendingStatuses[ref] == PendingStatus.pending.rawValue else {
                continue  // posted or voided since
            }
            let p = transfers[ref]
            guard let drRef = accountRef(p.debitAccountId), let crRef = accountRef(p.creditAccountId) else {
                continue
            }
            let dr = accounts.pointer(at: drRef)
            let cr = accounts.pointer(at: crRef)
            dr.pointee.debitsPending -= p.amount
            cr.pointee.creditsPending -= p.amount
            if p.flags.contains(.closingDebit) { dr.pointee.flags.remove(.closed) }
            if p.flags.contains(.closingCredit) { cr.pointee.flags.remove(.closed) }
            pendingStatuses[ref] = PendingStatus.expired.rawValue
        }
    }

    /// Applies a `pulse`: advances time to `timestamp` and expires what is due by then.
    public func pulse(timestamp: UInt64) throws(LedgerError) {
        _ = try beginBatch(count: 0, timestamp: timestamp)
        lastTimestamp = timestamp
    }
}
