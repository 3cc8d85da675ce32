import CKaminoPrefetch

extension Ledger {
    /// Applies a `create_transfers` batch whose last event has `timestamp`.
    /// - Returns: one result per event, in order.
    public func createTransfers(_ events: [Transfer], timestamp: UInt64) throws(LedgerError)
        -> [CreateTransferResult]
    {
        try events.withUnsafeBufferPointer { (buffer) throws(LedgerError) in
            try [CreateTransferResult](unsafeUninitializedCapacity: buffer.count) {
                (out, initialized) throws(LedgerError) in
                try createTransfers(buffer, timestamp: timestamp, into: out)
                initialized = buffer.count
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
        guard let out = results.baseAddress else { lastTimestamp = timestamp; return }
        executeCreate(
            events, timestamp: timestamp, results: out,
            create: { createTransfer($0, at: $1) },
            failed: { event, status in
                if status.isTransient { markFailed(event.id) }
            },
            prefetch: { range in prefetchTransfers(events, range) }
        )
    }

    /// The prefetch pipeline, one step per event, run just before event `i` is applied:
    /// - event `i + prefetchSlotDistance`: hash its three ids once and start loading their
    ///   id-index slots;
    /// - event `i + prefetchRecordDistance`: guess its accounts' refs from those slots (now
    ///   cached; tags only, no record read) and start loading the account records and
    ///   their list headers;
    /// - event `i`: start loading the tails of its accounts' transfer lists.
    /// One step per event spreads the misses evenly instead of in bursts. Prefetches are
    /// hints: they change no result, only what is in the cache.
    @inline(__always)
    func prefetchTransfers(_ events: UnsafeBufferPointer<Transfer>, _ i: Int) {
        let n = events.count
        let slotDistance = Self.prefetchSlotDistance
        let recordDistance = Self.prefetchRecordDistance
        if i == 0 {
            for k in 0..<min(slotDistance, n) { prefetchSlots(events, k) }
            for k in 0..<min(recordDistance, n) { prefetchAccounts(k) }
        }
        if i + slotDistance < n { prefetchSlots(events, i + slotDistance) }
        if i + recordDistance < n { prefetchAccounts(i + recordDistance) }
        for k in 0..<2 {
            let ref = Int(prefetchedRefs[2 * i + k])
            guard ref >= 0 else { continue }
            let list = accountLists.pointer(at: ref).pointee.transfers
            if let base = list.base { kamino_prefetch_write(base + list.count) }
        }
    }

    @inline(__always)
    private func prefetchSlots(_ events: UnsafeBufferPointer<Transfer>, _ i: Int) {
        let t = events[i]
        let tags = prefetchedTags + 3 * i
        tags[0] = transferIndex.tag(t.id)
        tags[1] = accountIndex.tag(t.debitAccountId)
        tags[2] = accountIndex.tag(t.creditAccountId)
        transferIndex.prefetch(tag: tags[0])
        accountIndex.prefetch(tag: tags[1])
        accountIndex.prefetch(tag: tags[2])
    }

    @inline(__always)
    private func prefetchAccounts(_ i: Int) {
        prefetchAccount(tag: prefetchedTags[3 * i + 1], slot: 2 * i)
        prefetchAccount(tag: prefetchedTags[3 * i + 2], slot: 2 * i + 1)
    }

    @inline(__always)
    private func prefetchAccount(tag: UInt32, slot: Int) {
        guard let guess = accountIndex.guessRef(tag: tag), Int(guess) < accounts.count else {
            prefetchedRefs[slot] = -1
            return
        }
        let ref = Int(guess)
        prefetchedRefs[slot] = Int32(ref)
        let account = UnsafeRawPointer(accounts.pointer(at: ref))
        kamino_prefetch_write(account)
        kamino_prefetch_write(account + 64)
        let lists = UnsafeRawPointer(accountLists.pointer(at: ref))
        kamino_prefetch_read(lists)
        kamino_prefetch_read(lists + MemoryLayout<AccountLists>.stride - 1)
    }

    /// Creates one transfer; checks in the reference's order of precedence.
    func createTransfer(_ t: Transfer, at eventTimestamp: UInt64)
        -> (CreateTransferStatus, UInt64)
    {
        let ts = eventTimestamp
        if t.flags.rawValue & TransferFlags.reservedMask != 0 { return (.reservedFlag, ts) }
        if t.id == 0 { return (.idMustNotBeZero, ts) }
        if t.id == .max { return (.idMustNotBeIntMax, ts) }

        transferIndex.reserveOne()
        let probe = transferIndex.find(t.id, in: transferIds)
        if let ref = probe.ref {
            if ref & Self.orphanBit != 0 { return (.idAlreadyFailed, ts) }
            return transferExists(t, transfers[Int(ref)])
        }

        if t.flags.contains(.postPendingTransfer) || t.flags.contains(.voidPendingTransfer) {
            return postOrVoidPendingTransfer(t, at: ts, probe: probe)
        }

        if let status = TransferRules.checkNew(t) { return (status, ts) }
        let isPending = t.flags.contains(.pending)

        guard let drRef = accountRef(t.debitAccountId) else { return (.debitAccountNotFound, ts) }
        guard let crRef = accountRef(t.creditAccountId) else { return (.creditAccountNotFound, ts) }
        var dr = accounts[drRef]
        var cr = accounts[crRef]
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
        if isPending {
            dr.debitsPending += amount
            cr.creditsPending += amount
        } else {
            dr.debitsPosted += amount
            cr.creditsPosted += amount
        }
        if t.flags.contains(.closingDebit) { dr.flags.insert(.closed) }
        if t.flags.contains(.closingCredit) { cr.flags.insert(.closed) }
        updateAccount(drRef, to: dr)
        updateAccount(crRef, to: cr)

        var stored = t
        stored.amount = amount
        stored.timestamp = actual
        let ref = transfers.count
        appendTransfer(stored, status: isPending ? .pending : .none, dr: drRef, cr: crRef, probe: probe)
        if isPending, t.timeout > 0 {
            let entry = ExpiryQueue.Entry(expiresAt: actual + t.timeoutNanoseconds, ref: UInt32(ref))
            if scope.pointee.isOpen { scope.pointee.expiries.append(entry) } else { expiry.push(entry) }
        }
        return (.created, actual)
    }

    /// The reference's rule for imported timestamps: strictly after every transfer and
    /// different from every account's timestamp.
    func importedTimestampRegresses(_ ts: UInt64) -> CreateTransferStatus? {
        if transfers.count > 0, ts <= transfers[transfers.count - 1].timestamp {
            return .importedEventTimestampMustNotRegress
        }
        if accountTimestampExists(ts) { return .importedEventTimestampMustNotRegress }
        return nil
    }

    private func transferExists(_ t: Transfer, _ e: Transfer) -> (CreateTransferStatus, UInt64) {
        let isPostOrVoid = t.flags.contains(.postPendingTransfer) || t.flags.contains(.voidPendingTransfer)
        let pending = isPostOrVoid ? transferRef(t.pendingId).map { transfers[$0] } : nil
        return TransferRules.exists(t, e, pending: pending)
    }
}
