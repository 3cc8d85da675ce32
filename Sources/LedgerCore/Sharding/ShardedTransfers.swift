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

    /// Creates one transfer, event `i` of the batch: decides it with the one rulebook
    /// (`TransferRules.decide`) over its resolution, then applies what was decided.
    func executeTransfer(_ t: Transfer, _ i: Int, at ts: UInt64, _ x: ShardExecution)
        -> (CreateTransferStatus, UInt64)
    {
        let view = ShardedTransferView(self, x)
        switch TransferRules.decide(t, event: i, at: ts, in: view) {
        case .done(let status, let timestamp):
            return (status, timestamp)
        case .create(let drRef, let crRef, let amount, let actual, _):
            applyCreate(t, i, dr: drRef, cr: crRef, amount: amount, timestamp: actual, x)
            return (.created, actual)
        case .resolve(let pRef, let drRef, let crRef, let amount, let actual, _):
            applyPostOrVoid(t, i, pending: pRef, dr: drRef, cr: crRef, amount: amount, timestamp: actual, x)
            return (.created, actual)
        }
    }

    /// Applies a new transfer `decide` accepted: stores it on its home (the debit
    /// account's shard), applies or sends its two legs, indexes its id, queues its expiry.
    private func applyCreate(
        _ t: Transfer, _ i: Int, dr drRef: UInt32, cr crRef: UInt32, amount: UInt128, timestamp actual: UInt64,
        _ x: ShardExecution
    ) {
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
    }

    /// Applies a post or void `decide` accepted: marks the pending transfer `pRef` posted
    /// or voided, stores the resolved transfer on its home, applies or sends the legs
    /// (release the pending amount; post `amount` or reopen what it closed).
    private func applyPostOrVoid(
        _ t: Transfer, _ i: Int, pending pRef: UInt32, dr drRef: UInt32, cr crRef: UInt32, amount: UInt128,
        timestamp actual: UInt64, _ x: ShardExecution
    ) {
        let isVoid = t.flags.contains(.voidPendingTransfer)
        let p = transfer(pRef)
        let home = ShardRouting.shard(of: pRef)
        let statuses = shards[home].pendingStatuses
        let pLocal = ShardRouting.local(of: pRef)
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
    }

    /// Records that `id` failed with a transient error: it can never be created later.
    func markFailed(_ id: UInt128, _ x: ShardExecution) {
        index(id, ref: ShardRouting.orphanBit, x)
    }

    /// Expires every pending transfer due before `firstEventTimestamp` (serial; expiries
    /// of different transfers commute, so shard order does not matter).
    func expirePending(before firstEventTimestamp: UInt64, _ x: ShardExecution) {
        for store in stores {
            store.expiry.expireDue(by: firstEventTimestamp - 1, statuses: store.pendingStatuses, count: store.transfers.count) {
                local in
                let p = store.transfers[local]
                guard let dr = locateAccount(p.debitAccountId), let cr = locateAccount(p.creditAccountId) else {
                    preconditionFailure("a pending transfer's accounts always exist: accounts are never deleted")
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
            }
        }
    }
}
