extension Ledger {
    /// Posts or voids a pending transfer (`flags.post_pending_transfer` or
    /// `flags.void_pending_transfer`); checks in the reference's order of precedence.
    /// `index` is the event's place in the batch: the prefetch pipeline's guesses of the
    /// pending transfer and its accounts are used once their ids confirm them.
    func postOrVoidPendingTransfer(
        _ t: Transfer, at eventTimestamp: UInt64, probe: IdIndex.Probe, index: Int
    ) -> (CreateTransferStatus, UInt64) {
        let ts = eventTimestamp
        if let status = TransferRules.checkPostOrVoid(t) { return (status, ts) }
        let isPost = t.flags.contains(.postPendingTransfer)
        let isVoid = !isPost

        let guess = Int(prefetched[index].pendingRef)
        let pRef: Int
        if guess >= 0, guess < transfers.count, transfers.pointer(at: guess).pointee.id == t.pendingId {
            pRef = guess  // created transfer ids are unique
        } else {
            guard let ref = transferRef(t.pendingId) else { return (.pendingTransferNotFound, ts) }
            pRef = ref
        }
        let p = transfers[pRef]
        if !p.flags.contains(.pending) { return (.pendingTransferNotPending, ts) }
        // A pending transfer's accounts always exist: accounts are never deleted.
        guard let (drRef, _) = accountRef(p.debitAccountId, guess: prefetched[index].debitRef, guessSlot: prefetched[index].debitSlot),
            let (crRef, _) = accountRef(p.creditAccountId, guess: prefetched[index].creditRef, guessSlot: prefetched[index].creditSlot)
        else {
            return (.pendingTransferNotFound, ts)
        }
        let (failure, amount) = TransferRules.matchPending(t, p)
        if let failure { return (failure, ts) }
        if let status = TransferRules.checkPendingState(p, status: pendingStatuses[pRef], at: ts) {
            return (status, ts)
        }

        var actual = ts
        if t.flags.contains(.imported) {
            if let status = importedTimestampRegresses(t.timestamp) { return (status, ts) }
            actual = t.timestamp
        }

        var dr = accounts[drRef]
        var cr = accounts[crRef]
        // The only movement allowed on a closed account is voiding a pending transfer.
        if dr.flags.contains(.closed) && !isVoid { return (.debitAccountAlreadyClosed, ts) }
        if cr.flags.contains(.closed) && !isVoid { return (.creditAccountAlreadyClosed, ts) }

        // From here on the transfer succeeds. Pending amounts were checked against
        // overflow of pending + posted when reserved, so moving them cannot overflow.
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
        return (.created, actual)
    }
}
