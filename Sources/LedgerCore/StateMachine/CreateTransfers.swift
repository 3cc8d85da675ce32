import CKaminoPrefetch

extension Ledger {
    /// Applies a `create_transfers` batch whose last event has `timestamp`.
    /// - Returns: one result per event, in order.
    public func createTransfers(_ events: [Transfer], timestamp: UInt64) throws(LedgerError)
        -> [CreateTransferResult]
    {
        try events.withUnsafeBufferPointer { (buffer) throws(LedgerError) in
            try [CreateTransferResult].written(count: buffer.count, placeholder: .init(timestamp: 0, status: .created)) {
                (out) throws(LedgerError) in try createTransfers(buffer, timestamp: timestamp, into: out)
            }
        }
    }

    /// Applies a `create_transfers` batch, writing one result per event into `results`
    /// (which must have room for `events.count`).
    public func createTransfers(
        _ events: UnsafeBufferPointer<Transfer>, timestamp: UInt64,
        into results: UnsafeMutableBufferPointer<CreateTransferResult>
    ) throws(LedgerError) {
        precondition(results.count >= events.count)
        guard transfers.count + events.count <= Self.refMax,
            orphanIds.count + events.count <= Self.refMax
        else {
            throw LedgerError(.capacityExhausted, "transfer store is full")
        }
        _ = try beginBatch(count: events.count, timestamp: timestamp)
        transferIndex.reserve(events.count)
        // An account index that fits in the L2 cache stays there: its slots need no hint.
        let accountSlots = accountIndex.memoryBytes > Self.cacheResidentIndexBytes
        guard let out = results.baseAddress else { lastTimestamp = timestamp; return }
        let view = SerialTransferView(self)
        executeCreate(
            events, timestamp: timestamp, results: out,
            create: { index, event, ts in createTransfer(event, at: ts, index: index, view: view) },
            failed: { event, status in
                if status.isTransient { markFailed(event.id) }
            },
            prefetch: { i in prefetchTransfers(events, i, accountSlots: accountSlots) }
        )
    }

    /// The prefetch pipeline, one step per event, run just before event `i` is applied:
    /// - event `i + prefetchSlotDistance`: hash its ids once and start loading their
    ///   id-index slots (its own id, and its accounts' or, for a post or void, its
    ///   pending transfer's);
    /// - event `i + prefetchRecordDistance`: guess the refs behind those slots (now cached;
    ///   tags only, no record read) and start loading the account records and their list
    ///   headers, or the pending transfer;
    /// - event `i + prefetchPendingDistance`, posts and voids only: read the pending
    ///   transfer (now cached) and do the same for its accounts.
    /// One step per event spreads the misses evenly instead of in bursts. Prefetches are
    /// hints: they change no result, only what is in the cache (every guess is verified).
    @inline(__always)
    func prefetchTransfers(_ events: UnsafeBufferPointer<Transfer>, _ i: Int, accountSlots: Bool) {
        let n = events.count
        let slotDistance = Self.prefetchSlotDistance
        let recordDistance = Self.prefetchRecordDistance
        let pendingDistance = Self.prefetchPendingDistance
        if i == 0 {
            for k in 0..<min(slotDistance, n) { prefetchSlots(events, k, accountSlots: accountSlots) }
            for k in 0..<min(recordDistance, n) { prefetchRecords(events, k) }
            for k in 0..<min(pendingDistance, n) { prefetchPendingAccounts(events, k) }
        }
        if i + slotDistance < n { prefetchSlots(events, i + slotDistance, accountSlots: accountSlots) }
        if i + recordDistance < n { prefetchRecords(events, i + recordDistance) }
        if i + pendingDistance < n { prefetchPendingAccounts(events, i + pendingDistance) }
    }

    @inline(__always)
    private func prefetchSlots(_ events: UnsafeBufferPointer<Transfer>, _ i: Int, accountSlots: Bool) {
        let t = events[i]
        let e = prefetched + i
        e.pointee.idTag = transferIndex.tag(t.id)
        transferIndex.prefetch(tag: e.pointee.idTag)
        if t.isPostOrVoid {
            e.pointee.debitTag = transferIndex.tag(t.pendingId)
            transferIndex.prefetch(tag: e.pointee.debitTag)
            return
        }
        e.pointee.debitTag = accountIndex.tag(t.debitAccountId)
        e.pointee.creditTag = accountIndex.tag(t.creditAccountId)
        if accountSlots {
            accountIndex.prefetch(tag: e.pointee.debitTag)
            accountIndex.prefetch(tag: e.pointee.creditTag)
        }
    }

    @inline(__always)
    private func prefetchRecords(_ events: UnsafeBufferPointer<Transfer>, _ i: Int) {
        let e = prefetched + i
        if events[i].isPostOrVoid {
            e.pointee.debitRef = -1
            e.pointee.creditRef = -1
            prefetchPending(tag: e.pointee.debitTag, event: e)
            return
        }
        prefetchAccount(tag: e.pointee.debitTag, ref: &e.pointee.debitRef, slot: &e.pointee.debitSlot)
        prefetchAccount(tag: e.pointee.creditTag, ref: &e.pointee.creditRef, slot: &e.pointee.creditSlot)
    }

    @inline(__always)
    private func prefetchPending(tag: UInt32, event e: UnsafeMutablePointer<PrefetchedEvent>) {
        guard let guess = transferIndex.guessRef(tag: tag), guess & Self.orphanBit == 0, Int(guess) < transfers.count
        else {
            e.pointee.pendingRef = -1
            return
        }
        e.pointee.pendingRef = Int32(guess)
        let record = UnsafeRawPointer(transfers.pointer(at: Int(guess)))
        kamino_prefetch_read(record)
        kamino_prefetch_read(record + 64)
        kamino_prefetch_write(pendingStatuses.pointer(at: Int(guess)))
    }

    @inline(__always)
    private func prefetchPendingAccounts(_ events: UnsafeBufferPointer<Transfer>, _ i: Int) {
        guard events[i].isPostOrVoid else { return }
        let e = prefetched + i
        let guess = Int(e.pointee.pendingRef)
        guard guess >= 0, guess < transfers.count else { return }
        let pending = transfers.pointer(at: guess)
        prefetchAccount(tag: accountIndex.tag(pending.pointee.debitAccountId), ref: &e.pointee.debitRef, slot: &e.pointee.debitSlot)
        prefetchAccount(tag: accountIndex.tag(pending.pointee.creditAccountId), ref: &e.pointee.creditRef, slot: &e.pointee.creditSlot)
    }

    @inline(__always)
    private func prefetchAccount(tag: UInt32, ref guessedRef: inout Int32, slot: inout UnsafeMutablePointer<Account>?) {
        guard let guess = accountIndex.guessRef(tag: tag), Int(guess) < accounts.count else {
            guessedRef = -1
            return
        }
        let ref = Int(guess)
        guessedRef = Int32(ref)
        let record = accounts.pointer(at: ref)
        slot = record
        let account = UnsafeRawPointer(record)
        kamino_prefetch_write(account)
        kamino_prefetch_write(account + 64)
        let list = UnsafeRawPointer(transferLists.pointer(at: ref))
        kamino_prefetch_write(list)
        kamino_prefetch_write(list + 64)
    }

    /// Creates one transfer, event `index` of the batch: decides it with the one rulebook
    /// (`TransferRules.decide`) over this ledger, then applies what was decided. Kept
    /// out of line, so that `decide` is inlined here (the batch loop is too large a caller
    /// for the inliner): `decide` called from the loop cost 20 instructions per transfer.
    @inline(never)
    func createTransfer(_ t: Transfer, at eventTimestamp: UInt64, index: Int, view: SerialTransferView)
        -> (CreateTransferStatus, UInt64)
    {
        switch TransferRules.decide(t, event: index, at: eventTimestamp, in: view) {
        case .done(let status, let timestamp):
            return (status, timestamp)
        case .create(let dr, let cr, let amount, let actual, let probe):
            applyCreate(t, dr: dr, cr: cr, amount: amount, timestamp: actual, probe: probe)
            return (.created, actual)
        case .resolve(let pending, let dr, let cr, let amount, let actual, let probe):
            applyPostOrVoid(t, pending: pending, dr: dr.ref, cr: cr.ref, amount: amount, timestamp: actual, probe: probe)
            return (.created, actual)
        }
    }

    /// Applies a new transfer `decide` accepted: moves `amount` on both accounts, closes
    /// them if asked, stores the transfer and queues its expiry.
    @inline(__always)
    private func applyCreate(
        _ t: Transfer, dr: SerialTransferView.AccountSlot, cr: SerialTransferView.AccountSlot,
        amount: UInt128, timestamp actual: UInt64, probe: IdIndex.Probe
    ) {
        let drSlot = dr.slot
        let crSlot = cr.slot
        let isPending = t.flags.contains(.pending)
        let history = (drSlot.pointee.flags.contains(.history), crSlot.pointee.flags.contains(.history))
        // Balances change in place (two fields, not two whole records); inside a chain
        // the old records are kept for the undo. `decide` ruled out overflow.
        if scope.pointee.isOpen {
            scope.pointee.undo.append(.accountUpdated(ref: dr.ref, previous: drSlot.pointee))
            scope.pointee.undo.append(.accountUpdated(ref: cr.ref, previous: crSlot.pointee))
        }
        if isPending {
            drSlot.pointee.debitsPending += amount
            crSlot.pointee.creditsPending += amount
        } else {
            drSlot.pointee.debitsPosted += amount
            crSlot.pointee.creditsPosted += amount
        }
        if t.flags.contains(.closingDebit) { drSlot.pointee.flags.insert(.closed) }
        if t.flags.contains(.closingCredit) { crSlot.pointee.flags.insert(.closed) }

        let ref = transfers.count
        appendTransfer(
            t, amount: amount, timestamp: actual, status: isPending ? .pending : .none, dr: dr.ref, cr: cr.ref,
            history: history, probe: probe)
        if isPending, t.timeout > 0 {
            let entry = ExpiryQueue.Entry(expiresAt: actual + t.timeoutNanoseconds, ref: UInt32(ref))
            if scope.pointee.isOpen { scope.pointee.expiries.append(entry) } else { expiry.push(entry) }
        }
    }
}
