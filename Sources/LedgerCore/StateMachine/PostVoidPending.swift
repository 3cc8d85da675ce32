extension Ledger {
    /// Applies a post or void `decide` accepted: releases the pending amount on both
    /// accounts of the pending transfer `pRef`, posts `amount` (a post) or reopens the
    /// accounts it closed (a void), marks it posted or voided and stores `t` resolved.
    @inline(__always)
    func applyPostOrVoid(
        _ t: Transfer, pending pRef: Int, dr drRef: Int, cr crRef: Int, amount: UInt128, timestamp actual: UInt64,
        probe: IdIndex.Probe
    ) {
        let isPost = t.flags.contains(.postPendingTransfer)
        let p = transfers[pRef]
        var dr = accounts[drRef]
        var cr = accounts[crRef]
        // Pending amounts were checked against overflow of pending + posted when
        // reserved, so moving them cannot overflow.
        dr.debitsPending -= p.amount
        cr.creditsPending -= p.amount
        if isPost {
            dr.debitsPosted += amount
            cr.creditsPosted += amount
        } else {
            if p.flags.contains(.closingDebit) { dr.flags.remove(.closed) }
            if p.flags.contains(.closingCredit) { cr.flags.remove(.closed) }
        }
        updateAccount(drRef, to: dr)
        updateAccount(crRef, to: cr)
        setPendingStatus(pRef, isPost ? .posted : .voided)

        let stored = TransferRules.resolved(t, pending: p, amount: amount, timestamp: actual)
        appendTransfer(
            stored, amount: amount, timestamp: actual, status: .none, dr: drRef, cr: crRef,
            history: (dr.flags.contains(.history), cr.flags.contains(.history)), probe: probe)
    }
}
