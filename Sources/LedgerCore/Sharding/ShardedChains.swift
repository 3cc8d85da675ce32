extension ShardedLedger {
    /// Decides, in the plan, a linked chain whose events are homed on several shards.
    ///
    /// Possible only when no event's result depends on state a parallel round changes:
    /// every event is a new (not post/void, not balancing) transfer whose existing accounts
    /// are free (see `whyNotFree`). Each event's result then follows from the batch-start
    /// state alone, so the chain's outcome is known before round 2: a failed chain's
    /// results are written now and its events skipped; a successful chain's events run on
    /// their homes as unlinked events (each is sure to be created). Writes only results
    /// and presets (and queues failed ids): a later serial fallback overwrites them.
    /// - Returns: false when the chain does not qualify (the batch then runs serially).
    func decideChain(_ b: ShardedTransferBatch, _ chain: ClosedRange<Int>) -> Bool {
        let r = resolutions
        let n = b.count
        for i in chain {
            let t = b.events[i]
            if t.isPostOrVoid || t.flags.contains(.balancingDebit) || t.flags.contains(.balancingCredit) {
                return false
            }
            for ref in [r.debit[i], r.credit[i]] where ref != 0 && whyNotFree(ref &- 1) != nil {
                return false
            }
        }
        var statuses: [CreateTransferStatus] = []
        var timestamps: [UInt64] = []
        var broken = false
        for i in chain {
            let t = b.events[i]
            let eventTimestamp = b.timestamp - UInt64(n) + UInt64(i) + 1
            var status: CreateTransferStatus
            var resultTimestamp = eventTimestamp
            if t.flags.contains(.linked) && i == n - 1 {
                status = .linkedEventChainOpen
            } else if broken {
                status = .linkedEventFailed
            } else {
                (status, resultTimestamp) = verdict(t, i, at: eventTimestamp)
                if status != .created && status != .exists { resultTimestamp = eventTimestamp }
            }
            if status != .created && !broken {
                broken = true
                for k in statuses.indices { statuses[k] = .linkedEventFailed }
                if status.isTransient { chainOrphans.append(t.id) }
            }
            statuses.append(status)
            timestamps.append(resultTimestamp)
        }
        for (k, i) in chain.enumerated() {
            if broken {
                r.preset[i] = .skip
                b.results[i] = CreateTransferResult(timestamp: timestamps[k], status: statuses[k])
            } else {
                r.preset[i] = .unlinked
            }
        }
        return true
    }

    /// The result creating `t` (event `i`) would have, for a new transfer between free
    /// accounts in a batch that is not imported: `executeTransfer`'s checks, none of which
    /// can depend on state a parallel round changes. Changes nothing.
    private func verdict(_ t: Transfer, _ i: Int, at ts: UInt64) -> (CreateTransferStatus, UInt64) {
        if t.flags.contains(.imported) { return (.importedEventNotExpected, ts) }
        if t.timestamp != 0 { return (.timestampMustBeZero, ts) }
        if t.flags.rawValue & TransferFlags.reservedMask != 0 { return (.reservedFlag, ts) }
        if t.id == 0 { return (.idMustNotBeZero, ts) }
        if t.id == .max { return (.idMustNotBeIntMax, ts) }
        let r = resolutions
        if r.existing[i] != 0 {
            let ref = r.existing[i] &- 1
            if ref & ShardRouting.orphanBit != 0 { return (.idAlreadyFailed, ts) }
            return TransferRules.exists(t, transfer(ref), pending: nil)
        }
        if let status = TransferRules.checkNew(t) { return (status, ts) }
        guard r.debit[i] != 0 else { return (.debitAccountNotFound, ts) }
        guard r.credit[i] != 0 else { return (.creditAccountNotFound, ts) }
        let dr = account(r.debit[i] &- 1).pointee
        let cr = account(r.credit[i] &- 1).pointee
        if dr.ledger != cr.ledger { return (.accountsMustHaveTheSameLedger, ts) }
        if t.ledger != dr.ledger { return (.transferMustHaveTheSameLedgerAsAccounts, ts) }
        if dr.flags.contains(.closed) { return (.debitAccountAlreadyClosed, ts) }
        if cr.flags.contains(.closed) { return (.creditAccountAlreadyClosed, ts) }
        if let status = TransferRules.checkBalances(t, amount: t.amount, dr: dr, cr: cr, timestamp: ts) {
            return (status, ts)
        }
        return (.created, ts)
    }
}
