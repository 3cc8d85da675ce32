extension Ledger {
    /// Applies a post or void `decide` accepted: releases the pending amount on both
    /// accounts of the pending transfer `pRef`, posts `amount` (a post) or reopens the
    /// accounts it closed (a void), marks it posted or voided and stores `t` resolved.
    /// Records are changed in place (inside a chain the old ones are kept for the undo).
    @inline(__always)
    func applyPostOrVoid(
        _ t: Transfer, pending pRef: Int, dr drRef: Int, cr crRef: Int, amount: UInt128, timestamp actual: UInt64,
        probe: IdIndex.Probe
    ) {
        let isPost = t.flags.contains(.postPendingTransfer)
        let p = transfers.pointer(at: pRef)
        let pendingAmount = p.pointee.amount
        let pendingFlags = p.pointee.flags
        let dr = accounts.pointer(at: drRef)
        let cr = accounts.pointer(at: crRef)
        if scope.pointee.isOpen {
            scope.pointee.undo.append(.accountUpdated(ref: drRef, previous: dr.pointee))
            scope.pointee.undo.append(.accountUpdated(ref: crRef, previous: cr.pointee))
        }
        // Pending amounts were checked against overflow of pending + posted when
        // reserved, so moving them cannot overflow.
        dr.pointee.debitsPending -= pendingAmount
        cr.pointee.creditsPending -= pendingAmount
        if isPost {
            dr.pointee.debitsPosted += amount
            cr.pointee.creditsPosted += amount
        } else {
            if pendingFlags.contains(.closingDebit) { dr.pointee.flags.remove(.closed) }
            if pendingFlags.contains(.closingCredit) { cr.pointee.flags.remove(.closed) }
        }
        setPendingStatus(pRef, isPost ? .posted : .voided)

        let stored = TransferRules.resolved(t, pending: p.pointee, amount: amount, timestamp: actual)
        appendTransfer(
            stored, amount: amount, timestamp: actual, status: .none, dr: drRef, cr: crRef,
            history: (dr.pointee.flags.contains(.history), cr.pointee.flags.contains(.history)), probe: probe)
    }
}
