/// What the resolve round found for one event (packed refs + 1; 0: none). Kept as
/// separate arrays because two shards fill different fields of the same event.
struct Resolutions {
    /// Directory value of the event's own id (transfer or failed id).
    let existing: UnsafeMutablePointer<UInt32>
    /// The pending transfer a post or void names.
    let pending: UnsafeMutablePointer<UInt32>
    /// The earlier event of this batch whose id a post or void names (-1: none).
    let pendingEvent: UnsafeMutablePointer<Int32>
    /// The debit and credit accounts (for a post or void: the pending transfer's).
    let debit: UnsafeMutablePointer<UInt32>
    let credit: UnsafeMutablePointer<UInt32>
    /// The credit account's ledger, when it is on another shard than the event's home.
    let foreignLedger: UnsafeMutablePointer<UInt32>
    /// Set by the plan for events of chains spanning shards: `skip` (result already
    /// written) or `unlinked` (the chain succeeds: run the event on its own).
    let preset: UnsafeMutablePointer<Preset>

    enum Preset: UInt8 { case none, skip, unlinked }

    init(capacity: Int) {
        preset = .allocate(capacity: capacity)
        foreignLedger = .allocate(capacity: capacity)
        existing = .allocate(capacity: capacity)
        pending = .allocate(capacity: capacity)
        pendingEvent = .allocate(capacity: capacity)
        debit = .allocate(capacity: capacity)
        credit = .allocate(capacity: capacity)
    }

    func deallocate() {
        preset.deallocate()
        foreignLedger.deallocate()
        existing.deallocate()
        pending.deallocate()
        pendingEvent.deallocate()
        debit.deallocate()
        credit.deallocate()
    }

    @inline(__always)
    func clear(_ i: Int) {
        existing[i] = 0
        pending[i] = 0
        pendingEvent[i] = -1
        debit[i] = 0
        credit[i] = 0
    }
}

extension Transfer {
    @inline(__always)
    var isPostOrVoid: Bool {
        flags.contains(.postPendingTransfer) || flags.contains(.voidPendingTransfer)
    }
}

extension ShardedLedger {
    /// Resolves event `i` against the current state (serial mode).
    func resolveLive(_ t: Transfer, _ i: Int) {
        let r = resolutions
        r.clear(i)
        r.existing[i] = findTransfer(t.id).map { $0 &+ 1 } ?? 0
        if t.isPostOrVoid {
            resolvePending(t, i)
        } else {
            r.debit[i] = locateAccount(t.debitAccountId).map { $0 &+ 1 } ?? 0
            r.credit[i] = locateAccount(t.creditAccountId).map { $0 &+ 1 } ?? 0
        }
    }

    /// Finds the pending transfer a post or void names, and its accounts.
    @inline(__always)
    func resolvePending(_ t: Transfer, _ i: Int) {
        guard let ref = findTransfer(t.pendingId), ref & ShardRouting.orphanBit == 0 else { return }
        let r = resolutions
        r.pending[i] = ref &+ 1
        let p = transfer(ref)
        r.debit[i] = locateAccount(p.debitAccountId).map { $0 &+ 1 } ?? 0
        r.credit[i] = locateAccount(p.creditAccountId).map { $0 &+ 1 } ?? 0
    }

    /// Stores a transfer on a shard and returns its packed ref.
    @inline(__always)
    func store(_ t: Transfer, status: PendingStatus, event i: Int, shard: Int, _ x: ShardExecution) -> UInt32 {
        let s = shards[shard]
        let ref = ShardRouting.pack(shard: shard, local: s.transfers.count)
        if x.deferred { createdEvents[shard][s.transfers.count - batchStarts[shard]] = Int32(truncatingIfNeeded: i) }
        s.transfers.append(t)
        s.pendingStatuses.append(status.rawValue)
        x.record(.transferCreated(shard: shard))
        return ref
    }

    /// Creates one transfer, event `i` of the batch, from its resolution; checks in the
    /// reference's order of precedence (the same rules as `Ledger.createTransfer`).
    func executeTransfer(_ t: Transfer, _ i: Int, at ts: UInt64, _ x: ShardExecution)
        -> (CreateTransferStatus, UInt64)
    {
        if t.flags.rawValue & TransferFlags.reservedMask != 0 { return (.reservedFlag, ts) }
        if t.id == 0 { return (.idMustNotBeZero, ts) }
        if t.id == .max { return (.idMustNotBeIntMax, ts) }
        let r = resolutions
        if r.existing[i] != 0 {
            let ref = r.existing[i] &- 1
            if ref & ShardRouting.orphanBit != 0 { return (.idAlreadyFailed, ts) }
            let pending = t.isPostOrVoid ? pendingRef(i).map { transfer($0) } : nil
            return TransferRules.exists(t, transfer(ref), pending: pending)
        }
        if t.isPostOrVoid { return executePostOrVoid(t, i, at: ts, x) }

        if let status = TransferRules.checkNew(t) { return (status, ts) }
        guard r.debit[i] != 0 else { return (.debitAccountNotFound, ts) }
        guard r.credit[i] != 0 else { return (.creditAccountNotFound, ts) }
        let drRef = r.debit[i] &- 1
        let crRef = r.credit[i] &- 1
        let dr = view(drRef, event: i, x)
        let cr = view(crRef, event: i, x)
        if dr.ledger != cr.ledger { return (.accountsMustHaveTheSameLedger, ts) }
        if t.ledger != dr.ledger { return (.transferMustHaveTheSameLedgerAsAccounts, ts) }

        var actual = ts
        if t.flags.contains(.imported) {
            if let status = importedTimestampRegresses(t.timestamp) { return (status, ts) }
            if t.timestamp <= dr.timestamp { return (.importedEventTimestampMustPostdateDebitAccount, ts) }
            if t.timestamp <= cr.timestamp { return (.importedEventTimestampMustPostdateCreditAccount, ts) }
            if t.timeout != 0 { return (.importedEventTimeoutMustBeZero, ts) }
            actual = t.timestamp
        }
        if dr.flags.contains(.closed) { return (.debitAccountAlreadyClosed, ts) }
        if cr.flags.contains(.closed) { return (.creditAccountAlreadyClosed, ts) }

        let amount = TransferRules.amount(of: t, dr: dr, cr: cr)
        if let status = TransferRules.checkBalances(t, amount: amount, dr: dr, cr: cr, timestamp: actual) {
            return (status, ts)
        }

        // From here on the transfer succeeds.
        let isPending = t.flags.contains(.pending)
        var stored = t
        stored.amount = amount
        stored.timestamp = actual
        let home = ShardRouting.shard(of: drRef)
        let ref = store(stored, status: isPending ? .pending : .none, event: i, shard: home, x)
        createdRefs[i] = ref &+ 1
        var leg = AccountLeg(
            account: drRef, kind: .create, isDebit: true, isPending: isPending,
            toggleClosed: t.flags.contains(.closingDebit), amount: amount, pendingAmount: 0,
            transfer: ref, timestamp: actual, event: Int32(truncatingIfNeeded: i))
        apply(leg, x)
        leg.account = crRef
        leg.isDebit = false
        leg.toggleClosed = t.flags.contains(.closingCredit)
        apply(leg, x)
        index(t.id, ref: ref, x)
        if isPending, t.timeout > 0 {
            let entry = ExpiryQueue.Entry(expiresAt: actual + t.timeoutNanoseconds, ref: UInt32(ShardRouting.local(of: ref)))
            if x.chainOpen { x.chainExpiries.append((home, entry)) } else { stores[home].expiry.push(entry) }
        }
        return (.created, actual)
    }

    /// The pending transfer event `i` names: found by the resolve round, or created by an
    /// earlier event of this batch.
    @inline(__always)
    func pendingRef(_ i: Int) -> UInt32? {
        let r = resolutions
        if r.pending[i] != 0 { return r.pending[i] &- 1 }
        let k = Int(r.pendingEvent[i])
        if k >= 0, createdRefs[k] != 0 { return createdRefs[k] &- 1 }
        return nil
    }

    /// Posts or voids a pending transfer (the rules of `Ledger.postOrVoidPendingTransfer`).
    func executePostOrVoid(_ t: Transfer, _ i: Int, at ts: UInt64, _ x: ShardExecution)
        -> (CreateTransferStatus, UInt64)
    {
        if let status = TransferRules.checkPostOrVoid(t) { return (status, ts) }
        let isVoid = t.flags.contains(.voidPendingTransfer)
        guard let pRef = pendingRef(i) else { return (.pendingTransferNotFound, ts) }
        let p = transfer(pRef)
        if !p.flags.contains(.pending) { return (.pendingTransferNotPending, ts) }
        let r = resolutions
        guard r.debit[i] != 0, r.credit[i] != 0 else { return (.pendingTransferNotFound, ts) }
        let drRef = r.debit[i] &- 1
        let crRef = r.credit[i] &- 1
        let (failure, amount) = TransferRules.matchPending(t, p)
        if let failure { return (failure, ts) }
        let home = ShardRouting.shard(of: pRef)
        let statuses = shards[home].pendingStatuses
        let pLocal = ShardRouting.local(of: pRef)
        if let status = TransferRules.checkPendingState(p, status: statuses[pLocal], at: ts) {
            return (status, ts)
        }
        var actual = ts
        if t.flags.contains(.imported) {
            if let status = importedTimestampRegresses(t.timestamp) { return (status, ts) }
            actual = t.timestamp
        }
        let dr = view(drRef, event: i, x)
        let cr = view(crRef, event: i, x)
        if dr.flags.contains(.closed) && !isVoid { return (.debitAccountAlreadyClosed, ts) }
        if cr.flags.contains(.closed) && !isVoid { return (.creditAccountAlreadyClosed, ts) }

        // From here on the transfer succeeds.
        x.record(.pendingStatusChanged(transfer: pRef, previous: statuses[pLocal]))
        statuses[pLocal] = isVoid ? PendingStatus.voided.rawValue : PendingStatus.posted.rawValue
        let stored = TransferRules.resolved(t, pending: p, amount: amount, timestamp: actual)
        let ref = store(stored, status: .none, event: i, shard: home, x)
        createdRefs[i] = ref &+ 1
        var leg = AccountLeg(
            account: drRef, kind: isVoid ? .release : .post, isDebit: true, isPending: false,
            toggleClosed: isVoid && p.flags.contains(.closingDebit), amount: amount,
            pendingAmount: p.amount, transfer: ref, timestamp: actual, event: Int32(truncatingIfNeeded: i))
        apply(leg, x)
        leg.account = crRef
        leg.isDebit = false
        leg.toggleClosed = isVoid && p.flags.contains(.closingCredit)
        apply(leg, x)
        index(t.id, ref: ref, x)
        return (.created, actual)
    }

    /// Records that `id` failed with a transient error: it can never be created later.
    func markFailed(_ id: UInt128, _ x: ShardExecution) {
        index(id, ref: ShardRouting.orphanBit, x)
    }

    /// The reference's rule for imported timestamps (serial mode only): strictly after
    /// every transfer and different from every account's timestamp.
    func importedTimestampRegresses(_ ts: UInt64) -> CreateTransferStatus? {
        for s in stores {
            if let last = s.transfers.last, ts <= last.timestamp { return .importedEventTimestampMustNotRegress }
        }
        for s in stores where Ledger.containsTimestamp(ts, count: s.accounts.count, timestampAt: { s.accounts[$0].timestamp }) {
            return .importedEventTimestampMustNotRegress
        }
        return nil
    }

    /// Expires every pending transfer due before `firstEventTimestamp` (serial; expiries
    /// of different transfers commute, so shard order does not matter).
    func expirePending(before firstEventTimestamp: UInt64, _ x: ShardExecution) {
        let cutoff = firstEventTimestamp - 1
        for store in stores {
            while let top = store.expiry.first, top.expiresAt <= cutoff {
                _ = store.expiry.popFirst()
                let local = Int(top.ref)
                guard local < store.transfers.count,
                    store.pendingStatuses[local] == PendingStatus.pending.rawValue
                else { continue }
                let p = store.transfers[local]
                guard let dr = locateAccount(p.debitAccountId), let cr = locateAccount(p.creditAccountId) else {
                    continue
                }
                var leg = AccountLeg(
                    account: dr, kind: .release, isDebit: true, isPending: false,
                    toggleClosed: p.flags.contains(.closingDebit), amount: 0, pendingAmount: p.amount,
                    transfer: AccountLeg.none, timestamp: 0, event: -1)
                apply(leg, x)
                leg.account = cr
                leg.isDebit = false
                leg.toggleClosed = p.flags.contains(.closingCredit)
                apply(leg, x)
                store.pendingStatuses[local] = PendingStatus.expired.rawValue
            }
        }
    }
}
