/// The checks of `create_transfers` that depend only on the request and on records
/// passed in, in the reference's order of precedence. Shared by the serial `Ledger` and
/// the sharded ledger, so both apply one definition of the rules.
enum TransferRules {
    /// Checks of a new (not post/void) transfer that need no state: ids, flags, timeout,
    /// ledger and code.
    @inline(__always)
    static func checkNew(_ t: Transfer) -> CreateTransferStatus? {
        // One test for the common case (every check below passes); the ordered checks
        // only when it fails. `x &+ 1 > 1` is `x != 0 && x != .max`.
        // Masks built from raw values: an option-set literal may allocate an array.
        let closing = TransferFlags(rawValue: TransferFlags.closingDebit.rawValue | TransferFlags.closingCredit.rawValue)
        let pending = t.flags.contains(.pending)
        if (t.debitAccountId &+ 1) > 1, (t.creditAccountId &+ 1) > 1, t.creditAccountId != t.debitAccountId,
            t.pendingId == 0, pending || (t.timeout == 0 && t.flags.isDisjoint(with: closing)),
            t.ledger != 0, t.code != 0
        {
            return nil
        }
        return checkNewInOrder(t)
    }

    private static func checkNewInOrder(_ t: Transfer) -> CreateTransferStatus? {
        if t.debitAccountId == 0 { return .debitAccountIdMustNotBeZero }
        if t.debitAccountId == .max { return .debitAccountIdMustNotBeIntMax }
        if t.creditAccountId == 0 { return .creditAccountIdMustNotBeZero }
        if t.creditAccountId == .max { return .creditAccountIdMustNotBeIntMax }
        if t.creditAccountId == t.debitAccountId { return .accountsMustBeDifferent }
        if t.pendingId != 0 { return .pendingIdMustBeZero }
        if !t.flags.contains(.pending) {
            if t.timeout != 0 { return .timeoutReservedForPendingTransfer }
            if t.flags.contains(.closingDebit) || t.flags.contains(.closingCredit) {
                return .closingTransferMustBePending
            }
        }
        if t.ledger == 0 { return .ledgerMustNotBeZero }
        if t.code == 0 { return .codeMustNotBeZero }
        return nil
    }

    /// The amount a transfer moves: its own, or less for balancing transfers.
    @inline(__always)
    static func amount(of t: Transfer, dr: Account, cr: Account) -> UInt128 {
        var amount = t.amount
        if t.flags.contains(.balancingDebit) {
            let (balance, o) = dr.debitsPosted.addingReportingOverflow(dr.debitsPending)
            let room = o || balance >= dr.creditsPosted ? 0 : dr.creditsPosted - balance
            amount = min(amount, room)
        }
        if t.flags.contains(.balancingCredit) {
            let (balance, o) = cr.creditsPosted.addingReportingOverflow(cr.creditsPending)
            let room = o || balance >= cr.debitsPosted ? 0 : cr.debitsPosted - balance
            amount = min(amount, room)
        }
        return amount
    }

    /// Overflow, timeout and balance-limit checks of a new transfer moving `amount`.
    @inline(__always)
    static func checkBalances(
        _ t: Transfer, amount: UInt128, dr: Account, cr: Account, timestamp actual: UInt64
    ) -> CreateTransferStatus? {
        // No overflow of pending + posted + amount on either side implies none of the
        // overflow checks below can fail (each sums a subset): one test for the common case.
        let (drTotal, o1) = dr.debitsPending.addingReportingOverflow(dr.debitsPosted)
        let (crTotal, o2) = cr.creditsPending.addingReportingOverflow(cr.creditsPosted)
        if !o1, !o2, !amount.addingReportingOverflow(drTotal).overflow, !amount.addingReportingOverflow(crTotal).overflow {
            return checkTimeoutAndLimits(t, amount: amount, dr: dr, cr: cr, timestamp: actual)
        }
        if t.flags.contains(.pending) {
            if amount.addingReportingOverflow(dr.debitsPending).overflow { return .overflowsDebitsPending }
            if amount.addingReportingOverflow(cr.creditsPending).overflow { return .overflowsCreditsPending }
        }
        if amount.addingReportingOverflow(dr.debitsPosted).overflow { return .overflowsDebitsPosted }
        if amount.addingReportingOverflow(cr.creditsPosted).overflow { return .overflowsCreditsPosted }
        if o1 || amount.addingReportingOverflow(drTotal).overflow { return .overflowsDebits }
        if o2 || amount.addingReportingOverflow(crTotal).overflow { return .overflowsCredits }
        return checkTimeoutAndLimits(t, amount: amount, dr: dr, cr: cr, timestamp: actual)
    }

    /// The checks after the overflow checks: timeout, then balance limits.
    @inline(__always)
    private static func checkTimeoutAndLimits(
        _ t: Transfer, amount: UInt128, dr: Account, cr: Account, timestamp actual: UInt64
    ) -> CreateTransferStatus? {
        if actual.addingReportingOverflow(t.timeoutNanoseconds).partialValue > LedgerLimits.timestampMax {
            return .overflowsTimeout
        }
        if dr.debitsExceedCredits(amount) { return .exceedsCredits }
        if cr.creditsExceedDebits(amount) { return .exceedsDebits }
        return nil
    }

    /// Checks of a post or void that need no state.
    @inline(__always)
    static func checkPostOrVoid(_ t: Transfer) -> CreateTransferStatus? {
        let isPost = t.flags.contains(.postPendingTransfer)
        let isVoid = t.flags.contains(.voidPendingTransfer)
        let exclusive = TransferFlags(
            rawValue: TransferFlags.pending.rawValue | TransferFlags.balancingDebit.rawValue
                | TransferFlags.balancingCredit.rawValue | TransferFlags.closingDebit.rawValue
                | TransferFlags.closingCredit.rawValue)
        if isPost && isVoid { return .flagsAreMutuallyExclusive }
        if !t.flags.isDisjoint(with: exclusive) { return .flagsAreMutuallyExclusive }
        if t.pendingId == 0 { return .pendingIdMustNotBeZero }
        if t.pendingId == .max { return .pendingIdMustNotBeIntMax }
        if t.pendingId == t.id { return .pendingIdMustBeDifferent }
        if t.timeout != 0 { return .timeoutReservedForPendingTransfer }
        return nil
    }

    /// Checks a post or void against the pending transfer `p` it names (found, with
    /// existing accounts): the failure, or the amount it posts or voids.
    @inline(__always)
    static func matchPending(_ t: Transfer, _ p: Transfer) -> (failure: CreateTransferStatus?, amount: UInt128) {
        if t.debitAccountId != 0 && t.debitAccountId != p.debitAccountId {
            return (.pendingTransferHasDifferentDebitAccountId, 0)
        }
        if t.creditAccountId != 0 && t.creditAccountId != p.creditAccountId {
            return (.pendingTransferHasDifferentCreditAccountId, 0)
        }
        if t.ledger != 0 && t.ledger != p.ledger { return (.pendingTransferHasDifferentLedger, 0) }
        if t.code != 0 && t.code != p.code { return (.pendingTransferHasDifferentCode, 0) }
        let isVoid = t.flags.contains(.voidPendingTransfer)
        let amount: UInt128
        if isVoid {
            amount = t.amount == 0 ? p.amount : t.amount
        } else {
            amount = t.amount == .max ? p.amount : t.amount
        }
        if amount > p.amount { return (.exceedsPendingTransferAmount, 0) }
        if isVoid && amount < p.amount { return (.pendingTransferHasDifferentAmount, 0) }
        return (nil, amount)
    }

    /// The status of a pending transfer `p` as seen at `ts`, or nil if it can be posted
    /// or voided.
    @inline(__always)
    static func checkPendingState(_ p: Transfer, status: UInt8, at ts: UInt64) -> CreateTransferStatus? {
        switch PendingStatus(rawValue: status) ?? .none {
        case .pending: break
        case .posted: return .pendingTransferAlreadyPosted
        case .voided: return .pendingTransferAlreadyVoided
        case .expired: return .pendingTransferExpired
        case .none: return .pendingTransferNotPending
        }
        if p.timeout != 0, p.timestamp + p.timeoutNanoseconds <= ts { return .pendingTransferExpired }
        return nil
    }

    /// The transfer a post or void stores: the pending's accounts, ledger and code, and
    /// the pending's user data where the request leaves it zero.
    @inline(__always)
    static func resolved(_ t: Transfer, pending p: Transfer, amount: UInt128, timestamp: UInt64) -> Transfer {
        Transfer(
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
            timestamp: timestamp)
    }

    /// Idempotency: the result of creating `t` when `e` already has its id; `pending` is
    /// the transfer `t.pendingId` names, when `t` is a post or void and it exists.
    static func exists(_ t: Transfer, _ e: Transfer, pending: Transfer?) -> (CreateTransferStatus, UInt64) {
        let ts = e.timestamp
        if t.flags != e.flags { return (.existsWithDifferentFlags, ts) }
        if t.pendingId != e.pendingId { return (.existsWithDifferentPendingId, ts) }
        if t.timeout != e.timeout { return (.existsWithDifferentTimeout, ts) }
        if t.flags.contains(.postPendingTransfer) || t.flags.contains(.voidPendingTransfer) {
            guard let p = pending else { return (.exists, ts) }
            return postOrVoidExists(t, e, p)
        }
        if t.debitAccountId != e.debitAccountId { return (.existsWithDifferentDebitAccountId, ts) }
        if t.creditAccountId != e.creditAccountId { return (.existsWithDifferentCreditAccountId, ts) }
        if t.flags.contains(.balancingDebit) || t.flags.contains(.balancingCredit) {
            // The stored amount is what balancing moved; the request's is its upper bound.
            if t.amount < e.amount { return (.existsWithDifferentAmount, ts) }
        } else if t.amount != e.amount {
            return (.existsWithDifferentAmount, ts)
        }
        if t.userData128 != e.userData128 { return (.existsWithDifferentUserData128, ts) }
        if t.userData64 != e.userData64 { return (.existsWithDifferentUserData64, ts) }
        if t.userData32 != e.userData32 { return (.existsWithDifferentUserData32, ts) }
        if t.ledger != e.ledger { return (.existsWithDifferentLedger, ts) }
        if t.code != e.code { return (.existsWithDifferentCode, ts) }
        return (.exists, ts)
    }

    /// Idempotency check of a post/void against the stored one `e` and its pending `p`.
    static func postOrVoidExists(_ t: Transfer, _ e: Transfer, _ p: Transfer) -> (CreateTransferStatus, UInt64) {
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
