extension Ledger {
    /// Posts or voids a pending transfer (`flags.post_pending_transfer` or
    /// `flags.void_pending_transfer`); checks in the reference's order of precedence.
    func postOrVoidPendingTransfer(
        _ t: Transfer, at eventTimestamp: UInt64, probe: IdIndex.Probe
    ) -> (CreateTransferStatus, UInt64) {
        let ts = eventTimestamp
        let isPost = t.flags.contains(.postPendingTransfer)
        let isVoid = t.flags.contains(.voidPendingTransfer)
        let exclusive: TransferFlags = [.pending, .balancingDebit, .balancingCredit, .closingDebit, .closingCredit]
        if isPost && isVoid { return (.flagsAreMutuallyExclusive, ts) }
        if !t.flags.isDisjoint(with: exclusive) { return (.flagsAreMutuallyExclusive, ts) }
        if t.pendingId == 0 { return (.pendingIdMustNotBeZero, ts) }
        if t.pendingId == .max { return (.pendingIdMustNotBeIntMax, ts) }
        if t.pendingId == t.id { return (.pendingIdMustBeDifferent, ts) }
        if t.timeout != 0 { return (.timeoutReservedForPendingTransfer, ts) }

        guard let pRef = transferRef(t.pendingId) else { return (.pendingTransferNotFound, ts) }
        let p = transfers[pRef]
        if !p.flags.contains(.pending) { return (.pendingTransferNotPending, ts) }
        // A pending transfer's accounts always exist: accounts are never deleted.
        guard let drRef = accountRef(p.debitAccountId), let crRef = accountRef(p.creditAccountId) else {
            return (.pendingTransferNotFound, ts)
        }
        if t.debitAccountId != 0 && t.debitAccountId != p.debitAccountId {
            return (.pendingTransferHasDifferentDebitAccountId, ts)
        }
        if t.creditAccountId != 0 && t.creditAccountId != p.creditAccountId {
            return (.pendingTransferHasDifferentCreditAccountId, ts)
        }
        if t.ledger != 0 && t.ledger != p.ledger { return (.pendingTransferHasDifferentLedger, ts) }
        if t.code != 0 && t.code != p.code { return (.pendingTransferHasDifferentCode, ts) }

        let amount: UInt128
        if isVoid {
            amount = t.amount == 0 ? p.amount : t.amount
        } else {
            amount = t.amount == .max ? p.amount : t.amount
        }
        if amount > p.amount { return (.exceedsPendingTransferAmount, ts) }
        if isVoid && amount < p.amount { return (.pendingTransferHasDifferentAmount, ts) }

        switch PendingStatus(rawValue: pendingStatuses[pRef]) ?? .none {
        case .pending: break
        case .posted: return (.pendingTransferAlreadyPosted, ts)
        case .voided: return (.pendingTransferAlreadyVoided, ts)
        case .expired: return (.pendingTransferExpired, ts)
        case .none: return (.pendingTransferNotPending, ts)
        }
        if p.timeout != 0, p.timestamp + p.timeoutNanoseconds <= ts {
            return (.pendingTransferExpired, ts)
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

        let stored = Transfer(
            id: t.id,
            debitAccountId: p.debitAccountId,
            creditAccountId: p.creditAccountId,
            amount: amount,
            pendingId: t.pendingId,
            userData128: t.userData128 != 0 ? t.userData128 : p.userData128,
            userData64: t.userData64 != 0 ? t.userData64 : p.userData64,
            userData32: t.userData32 != 0 ? t.userData32 : p.userData32,
            timeout: 0,
            ledger: p.ledger,
            code: p.code,
            flags: t.flags,
            timestamp: actual)
        appendTransfer(stored, status: .none, dr: drRef, cr: crRef, probe: probe)
        return (.created, actual)
    }

    /// Idempotency check of a post/void against the stored one `e` and its pending `p`.
    func postOrVoidExists(_ t: Transfer, _ e: Transfer, _ p: Transfer) -> (CreateTransferStatus, UInt64) {
        let ts = e.timestamp
        if t.debitAccountId != 0 && t.debitAccountId != e.debitAccountId {
            return (.existsWithDifferentDebitAccountId, ts)
        }
        if t.creditAccountId != 0 && t.creditAccountId != e.creditAccountId {
            return (.existsWithDifferentCreditAccountId, ts)
        }
        if t.flags.contains(.voidPendingTransfer) {
            if t.amount == 0 {
                if e.amount != p.amount { return (.existsWithDifferentAmount, ts) }
            } else if t.amount != e.amount {
                return (.existsWithDifferentAmount, ts)
            }
        }
        if t.flags.contains(.postPendingTransfer) {
            if t.amount == .max {
                if e.amount != p.amount { return (.existsWithDifferentAmount, ts) }
            } else if t.amount != e.amount {
                return (.existsWithDifferentAmount, ts)
            }
        }
        if (t.userData128 == 0 ? p.userData128 : t.userData128) != e.userData128 {
            return (.existsWithDifferentUserData128, ts)
        }
        if (t.userData64 == 0 ? p.userData64 : t.userData64) != e.userData64 {
            return (.existsWithDifferentUserData64, ts)
        }
        if (t.userData32 == 0 ? p.userData32 : t.userData32) != e.userData32 {
            return (.existsWithDifferentUserData32, ts)
        }
        if t.ledger != 0 && t.ledger != e.ledger { return (.existsWithDifferentLedger, ts) }
        if t.code != 0 && t.code != e.code { return (.existsWithDifferentCode, ts) }
        return (.exists, ts)
    }
}
