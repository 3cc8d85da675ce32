/// What deciding one `create_transfer` event reads: the stored ids, transfers, pending
/// statuses and accounts, as one layout (the serial `Ledger`, the sharded ledger) finds
/// them. A view decides nothing and changes nothing but its own lookup state; the one
/// rulebook is `TransferRules.decide`.
protocol TransferDecisionView {
    /// How the layout names a found account (and how its applier finds it again).
    associatedtype AccountRef
    /// How the layout names a stored transfer.
    associatedtype TransferRef
    /// Where a new id goes (the serial ledger's id-index probe), handed back to the
    /// applier with an accepted decision.
    associatedtype Slot

    /// What is stored under event `i`'s id (`t.id`, neither 0 nor max).
    func existing(_ t: Transfer, event i: Int) -> StoredTransferId<TransferRef, Slot>
    /// The created transfer (not a failed id) that `t.pendingId` names, if any.
    func pendingTransfer(_ t: Transfer, event i: Int) -> TransferRef?
    func transfer(_ ref: TransferRef) -> Transfer
    /// The raw `PendingStatus` of a stored transfer.
    func pendingStatus(_ ref: TransferRef) -> UInt8
    /// The accounts a new transfer names, if they exist.
    func debitAccount(_ t: Transfer, event i: Int) -> AccountRef?
    func creditAccount(_ t: Transfer, event i: Int) -> AccountRef?
    /// The accounts of the pending transfer `p` that event `i` posts or voids. They always
    /// exist (accounts are never deleted): a view traps if one is missing.
    func pendingAccounts(_ p: Transfer, event i: Int) -> (debit: AccountRef, credit: AccountRef)
    /// The account as event `i` may read it.
    func account(_ ref: AccountRef, event i: Int) -> Account
    /// The reference's rule for imported timestamps: true unless `ts` is strictly after
    /// every transfer and different from every account's timestamp.
    func importedTimestampRegresses(_ ts: UInt64) -> Bool
}

/// What a transfer id names in a ledger.
enum StoredTransferId<TransferRef, Slot> {
    /// No such id: where it would go.
    case none(Slot)
    /// An id that failed with a transient status: it can never be created.
    case failed
    case transfer(TransferRef)
}

/// The decision on one `create_transfer` event: a status, or the legs to apply.
enum TransferDecision<AccountRef, TransferRef, Slot> {
    /// Nothing to apply: the status and, for `exists`, the stored transfer's timestamp
    /// (otherwise the event's).
    case done(CreateTransferStatus, UInt64)
    /// Create a new transfer moving `amount` (less than requested for balancing ones).
    case create(debit: AccountRef, credit: AccountRef, amount: UInt128, timestamp: UInt64, slot: Slot)
    /// Post (`amount`) or void the pending transfer `pending`, whose accounts are given.
    case resolve(
        pending: TransferRef, debit: AccountRef, credit: AccountRef, amount: UInt128, timestamp: UInt64, slot: Slot)
}

extension TransferRules {
    /// The one precedence ladder of `create_transfer` (after the batch driver's imported,
    /// timestamp and chain checks): every check in the reference's order, over what
    /// `view` reads. Both ledgers apply what it returns and decide nothing themselves.
    @inline(__always)
    static func decide<View: TransferDecisionView>(
        _ t: Transfer, event i: Int, at ts: UInt64, in view: View
    ) -> TransferDecision<View.AccountRef, View.TransferRef, View.Slot> {
        if t.flags.rawValue & TransferFlags.reservedMask != 0 { return .done(.reservedFlag, ts) }
        if t.id == 0 { return .done(.idMustNotBeZero, ts) }
        if t.id == .max { return .done(.idMustNotBeIntMax, ts) }

        let slot: View.Slot
        switch view.existing(t, event: i) {
        case .none(let s): slot = s
        case .failed: return .done(.idAlreadyFailed, ts)
        case .transfer(let ref):
            let pending = t.isPostOrVoid ? view.pendingTransfer(t, event: i).map { view.transfer($0) } : nil
            let (status, timestamp) = exists(t, view.transfer(ref), pending: pending)
            return .done(status, timestamp)
        }
        if t.isPostOrVoid { return decidePostOrVoid(t, event: i, at: ts, in: view, slot: slot) }

        if let status = checkNew(t) { return .done(status, ts) }
        guard let drRef = view.debitAccount(t, event: i) else { return .done(.debitAccountNotFound, ts) }
        guard let crRef = view.creditAccount(t, event: i) else { return .done(.creditAccountNotFound, ts) }
        // Read in place where the view allows it: nothing is written while deciding.
        let dr = view.account(drRef, event: i)
        let cr = view.account(crRef, event: i)
        if dr.ledger != cr.ledger { return .done(.accountsMustHaveTheSameLedger, ts) }
        if t.ledger != dr.ledger { return .done(.transferMustHaveTheSameLedgerAsAccounts, ts) }

        var actual = ts
        if t.flags.contains(.imported) {
            if view.importedTimestampRegresses(t.timestamp) { return .done(.importedEventTimestampMustNotRegress, ts) }
            if t.timestamp <= dr.timestamp { return .done(.importedEventTimestampMustPostdateDebitAccount, ts) }
            if t.timestamp <= cr.timestamp { return .done(.importedEventTimestampMustPostdateCreditAccount, ts) }
            if t.timeout != 0 { return .done(.importedEventTimeoutMustBeZero, ts) }
            actual = t.timestamp
        }
        if dr.flags.contains(.closed) { return .done(.debitAccountAlreadyClosed, ts) }
        if cr.flags.contains(.closed) { return .done(.creditAccountAlreadyClosed, ts) }

        let amount = amount(of: t, dr: dr, cr: cr)
        if let status = checkBalances(t, amount: amount, dr: dr, cr: cr, timestamp: actual) {
            return .done(status, ts)
        }
        return .create(debit: drRef, credit: crRef, amount: amount, timestamp: actual, slot: slot)
    }

    /// The ladder of a post or void (`flags.post_pending_transfer` or
    /// `flags.void_pending_transfer`) whose id is new.
    @inline(__always)
    static func decidePostOrVoid<View: TransferDecisionView>(
        _ t: Transfer, event i: Int, at ts: UInt64, in view: View, slot: View.Slot
    ) -> TransferDecision<View.AccountRef, View.TransferRef, View.Slot> {
        if let status = checkPostOrVoid(t) { return .done(status, ts) }
        let isVoid = t.flags.contains(.voidPendingTransfer)
        guard let pRef = view.pendingTransfer(t, event: i) else { return .done(.pendingTransferNotFound, ts) }
        let p = view.transfer(pRef)
        if !p.flags.contains(.pending) { return .done(.pendingTransferNotPending, ts) }
        let (drRef, crRef) = view.pendingAccounts(p, event: i)
        let (failure, amount) = matchPending(t, p)
        if let failure { return .done(failure, ts) }
        if let status = checkPendingState(p, status: view.pendingStatus(pRef), at: ts) { return .done(status, ts) }

        var actual = ts
        if t.flags.contains(.imported) {
            if view.importedTimestampRegresses(t.timestamp) { return .done(.importedEventTimestampMustNotRegress, ts) }
            actual = t.timestamp
        }
        // The only movement allowed on a closed account is voiding a pending transfer.
        if !isVoid {
            if view.account(drRef, event: i).flags.contains(.closed) { return .done(.debitAccountAlreadyClosed, ts) }
            if view.account(crRef, event: i).flags.contains(.closed) { return .done(.creditAccountAlreadyClosed, ts) }
        }
        return .resolve(pending: pRef, debit: drRef, credit: crRef, amount: amount, timestamp: actual, slot: slot)
    }
}

extension Transfer {
    /// True for a post or void of a pending transfer.
    @inline(__always)
    var isPostOrVoid: Bool {
        flags.rawValue & (TransferFlags.postPendingTransfer.rawValue | TransferFlags.voidPendingTransfer.rawValue) != 0
    }
}
