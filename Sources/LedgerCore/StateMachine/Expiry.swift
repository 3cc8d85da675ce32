extension Ledger {
    /// Expires every pending transfer whose deadline (`timestamp + timeout`) is at or
    /// before `firstEventTimestamp`: releases its reserved amounts and reopens accounts it
    /// closed. Returns true if it expired any.
    ///
    /// Runs at the start of each batch with the time just before its first event, so
    /// expiry follows the log's timestamps only and every replica expires identically.
    @discardableResult
    func expirePending(before firstEventTimestamp: UInt64) -> Bool {
        var expired = false
        let cutoff = firstEventTimestamp - 1
        expiry.expireDue(by: cutoff, statuses: pendingStatuses, count: transfers.count) { ref in
            let p = transfers.pointer(at: ref)
            expiryObserver?(p.pointee, cutoff)
            guard let drRef = accountRef(p.pointee.debitAccountId), let crRef = accountRef(p.pointee.creditAccountId) else {
                preconditionFailure("a pending transfer's accounts always exist: accounts are never deleted")
            }
            let dr = accounts.pointer(at: drRef)
            let cr = accounts.pointer(at: crRef)
            dr.pointee.debitsPending -= p.pointee.amount
            cr.pointee.creditsPending -= p.pointee.amount
            if p.pointee.flags.contains(.closingDebit) { dr.pointee.flags.remove(.closed) }
            if p.pointee.flags.contains(.closingCredit) { cr.pointee.flags.remove(.closed) }
            expired = true
        }
        return expired
    }

    /// Applies a `pulse`: advances time to `timestamp` and expires what is due by then.
    public func pulse(timestamp: UInt64) throws(LedgerError) {
        _ = try beginBatch(count: 0, timestamp: timestamp)
        lastTimestamp = timestamp
    }
}

extension ExpiryQueue {
    /// The expiry rule both ledgers apply: pops every entry due by `cutoff` (deadline at
    /// or before it); one whose transfer is still pending in `statuses` is handed to
    /// `expire` (which releases its amounts and reopens what it closed) and marked
    /// expired. The others were posted or voided since.
    @inline(__always)
    mutating func expireDue(by cutoff: UInt64, statuses: ChunkedStore<UInt8>, count: Int, expire: (Int) -> Void) {
        while let top = first, top.expiresAt <= cutoff {
            _ = popFirst()
            let ref = Int(top.ref)
            guard ref < count, statuses[ref] == PendingStatus.pending.rawValue else { continue }
            expire(ref)
            statuses[ref] = PendingStatus.expired.rawValue
        }
    }
}
