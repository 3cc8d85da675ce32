import CKaminoPrefetch

/// A `create_transfers` batch being applied by a sharded ledger: the events, where the
/// results go and the batch timestamp. The buffers must outlive the batch.
///
/// `@unchecked Sendable` (raw pointers): every shard of a round reads the events and
/// writes the results of its own events only (round 2; the plan writes on one thread
/// between rounds); the ledger's `RoundSequence` checks that rounds do not overlap.
package struct ShardedTransferBatch: @unchecked Sendable {
    let events: UnsafeBufferPointer<Transfer>
    let results: UnsafeMutablePointer<CreateTransferResult>
    let timestamp: UInt64

    package init(events: UnsafeBufferPointer<Transfer>, results: UnsafeMutablePointer<CreateTransferResult>,
                 timestamp: UInt64) {
        self.events = events
        self.results = results
        self.timestamp = timestamp
    }

    var count: Int { events.count }
    var firstTimestamp: UInt64 { timestamp - UInt64(events.count) + 1 }
}

extension ShardedLedger {
    /// Applies a `create_transfers` batch, running each round's shards one after the
    /// other on this thread (the parallel driver lives in LedgerEngine).
    public func createTransfers(_ events: [Transfer], timestamp: UInt64) throws(LedgerError)
        -> [CreateTransferResult]
    {
        try events.withUnsafeBufferPointer { (buffer) throws(LedgerError) in
            try [CreateTransferResult](unsafeUninitializedCapacity: buffer.count) {
                (out, initialized) throws(LedgerError) in
                if let base = out.baseAddress {
                    let batch = ShardedTransferBatch(events: buffer, results: base, timestamp: timestamp)
                    if try beginTransfers(batch) {
                        for s in 0..<shardCount { resolveRound(batch, shard: s) }
                        if planRound(batch) {
                            for s in 0..<shardCount { executeRound(batch, shard: s) }
                            beginSettleRound()
                            for s in 0..<shardCount { settleRound(batch, shard: s) }
                            finishTransfers(batch)
                        }
                    }
                } else {
                    try checkBatch(count: 0, timestamp: timestamp)
                    expirePending(before: timestamp + 1, serialExecution)
                    lastTimestamp = timestamp
                }
                initialized = buffer.count
            }
        }
    }

    /// Starts a batch: checks it, expires what is due, and either runs it serially
    /// (returns false: done) or prepares the parallel rounds (returns true).
    package func beginTransfers(_ b: ShardedTransferBatch) throws(LedgerError) -> Bool {
        let n = b.count
        rounds.requireIdle()
        try checkBatch(count: n, timestamp: b.timestamp)
        for s in stores where s.transfers.count + n > ShardRouting.localCapacity
            || s.orphanIds.count + n > ShardRouting.localCapacity
        {
            throw LedgerError(.capacityExhausted, "transfer store of a shard is full")
        }
        expirePending(before: b.firstTimestamp, serialExecution)
        createdRefs.update(repeating: 0, count: n)
        batchAmountBound = 0
        for t in b.events where !t.isPostOrVoid {
            let (sum, overflow) = batchAmountBound.addingReportingOverflow(t.amount)
            batchAmountBound = overflow ? .max : sum
        }
        if let reason = staticSerialReason(b) {
            runSerially(b, reason: reason)
            return false
        }
        for (k, s) in stores.enumerated() {
            s.transfers.reserveChunkTable(forCount: s.transfers.count + n)
            s.pendingStatuses.reserveChunkTable(forCount: s.pendingStatuses.count + n)
            batchStarts[k] = s.transfers.count
        }
        rounds.start()
        return true
    }

    /// Reasons visible in the events alone.
    private func staticSerialReason(_ b: ShardedTransferBatch) -> SerialReason? {
        if b.count < parallelThreshold || shardCount == 1 && b.count < 2 { return .smallBatch }
        if b.events[0].isImported { return .imported }
        for t in b.events where t.flags.contains(.closingDebit) || t.flags.contains(.closingCredit) {
            return .closing
        }
        return nil
    }

    /// Runs a whole batch event by event over all shards.
    func runSerially(_ b: ShardedTransferBatch, reason: SerialReason) {
        rounds.requireIdle()
        let x = serialExecution
        stats.serialBatches[reason.rawValue] += 1
        runCreates(
            b.events, timestamp: b.timestamp, results: b.results, x, mine: { _ in true },
            create: { i, t, ts in
                resolveLive(t, i)
                return executeTransfer(t, i, at: ts, x)
            },
            failed: { t, status in if status.isTransient { markFailed(t.id, x) } },
            rolledBack: forgetCreated)
        lastTimestamp = b.timestamp
    }

    // MARK: Round 1: resolve (read-only)

    /// Looks up the ids that shard `s`'s directory partition indexes: each event's own id
    /// and, for posts and voids, the pending id; the accounts; and notes what forbids
    /// parallel execution.
    package func resolveRound(_ b: ShardedTransferBatch, shard s: Int) {
        rounds.enter(.resolve, shard: s)
        let x = executions[s]
        x.resetOutbox()
        let table = batchIds[s]
        table.reset()
        let r = resolutions
        let n = b.count
        // This partition's events, then a prefetch pipeline over them (as `Ledger` does):
        // directory and account-index slots 16 events ahead, account records 8 ahead.
        let mine = x.events
        var m = 0
        for i in 0..<n where routing.partition(ofTransfer: b.events[i].id) == s {
            mine[m] = Int32(truncatingIfNeeded: i)
            m += 1
        }
        for k in 0..<min(16, m) { prefetchSlots(b.events[Int(mine[k])], partition: s) }
        for k in 0..<min(8, m) { prefetchAccounts(b.events[Int(mine[k])]) }
        for k in 0..<m {
            if k + 16 < m { prefetchSlots(b.events[Int(mine[k + 16])], partition: s) }
            if k + 8 < m { prefetchAccounts(b.events[Int(mine[k + 8])]) }
            let i = Int(mine[k])
            let t = b.events[i]
            r.existing[i] = findTransfer(t.id).map { $0 &+ 1 } ?? 0
            if table.insert(t.id, event: i, in: b.events) != nil { x.serialReason = x.serialReason ?? .duplicateId }
            if t.isPostOrVoid { continue }
            r.pending[i] = 0
            r.pendingEvent[i] = -1
            let dr = locateAccount(t.debitAccountId)
            let cr = locateAccount(t.creditAccountId)
            r.debit[i] = dr.map { $0 &+ 1 } ?? 0
            r.credit[i] = cr.map { $0 &+ 1 } ?? 0
            if let dr, let cr, ShardRouting.shard(of: dr) != ShardRouting.shard(of: cr) {
                if let reason = whyNotFree(cr) { x.serialReason = x.serialReason ?? reason }
                r.foreignLedger[i] = account(cr).pointee.ledger
            }
        }
        for i in 0..<n {
            let t = b.events[i]
            guard t.isPostOrVoid, routing.partition(ofTransfer: t.pendingId) == s else { continue }
            r.pending[i] = 0
            r.pendingEvent[i] = -1
            r.debit[i] = 0
            r.credit[i] = 0
            if let ref = findTransfer(t.pendingId), ref & ShardRouting.orphanBit == 0 {
                r.pending[i] = ref &+ 1
                let p = transfer(ref)
                let dr = locateAccount(p.debitAccountId)
                let cr = locateAccount(p.creditAccountId)
                r.debit[i] = dr.map { $0 &+ 1 } ?? 0
                r.credit[i] = cr.map { $0 &+ 1 } ?? 0
                if let dr, let cr, ShardRouting.shard(of: dr) != ShardRouting.shard(of: cr) {
                    if let reason = whyNotFree(cr) { x.serialReason = x.serialReason ?? reason }
                    r.foreignLedger[i] = account(cr).pointee.ledger
                    if t.flags.contains(.voidPendingTransfer),
                        p.flags.contains(.closingDebit) || p.flags.contains(.closingCredit)
                    {
                        x.serialReason = x.serialReason ?? .reopening
                    }
                }
            } else if let k = table.find(t.pendingId, in: b.events), k < i {
                r.pendingEvent[i] = Int32(truncatingIfNeeded: k)
            }
        }
    }

    /// Starts loading the directory slot of an event's id and its accounts' index slots.
    @inline(__always)
    private func prefetchSlots(_ t: Transfer, partition: Int) {
        let directory = shards[partition].directory
        directory.prefetch(tag: directory.tag(t.id))
        if t.isPostOrVoid { return }
        prefetchIndexSlot(t.debitAccountId)
        prefetchIndexSlot(t.creditAccountId)
    }

    @inline(__always)
    private func prefetchIndexSlot(_ id: UInt128) {
        let index = shards[routing.shard(ofAccount: id)].accountIndex
        index.prefetch(tag: index.tag(id))
    }

    /// Starts loading an event's account records, guessed from their (now cached) index
    /// slots. A hint only: a wrong guess costs a wasted load, never a wrong result.
    @inline(__always)
    private func prefetchAccounts(_ t: Transfer) {
        if t.isPostOrVoid { return }
        prefetchAccount(t.debitAccountId)
        prefetchAccount(t.creditAccountId)
    }

    @inline(__always)
    private func prefetchAccount(_ id: UInt128) {
        let shard = shards[routing.shard(ofAccount: id)]
        if let guess = shard.accountIndex.guessRef(tag: shard.accountIndex.tag(id)), Int(guess) < shard.accounts.count {
            kamino_prefetch_read(UnsafeRawPointer(shard.accounts.pointer(at: Int(guess))))
        }
    }

    /// Why another shard may not apply legs to this account in any order, or nil when it
    /// may: its results must not depend on its balances (no balance limit, no history, not
    /// closed) and no leg of this batch can overflow it (its totals plus every amount of
    /// the batch stay below 2^128). Read in round 1, when no shard writes.
    @inline(__always)
    func whyNotFree(_ ref: UInt32) -> SerialReason? {
        let a = account(ref).pointee
        let ordered: AccountFlags = [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits, .history, .closed]
        if !a.flags.isDisjoint(with: ordered) { return .orderedAccount }
        let (d, o1) = a.debitsPending.addingReportingOverflow(a.debitsPosted)
        let (c, o2) = a.creditsPending.addingReportingOverflow(a.creditsPosted)
        if o1 || o2 || max(d, c).addingReportingOverflow(batchAmountBound).overflow { return .overflowBound }
        return nil
    }

    // MARK: Plan (one thread, between rounds 1 and 2)

    /// Assigns each event its home shard and checks the parallel rules; runs the batch
    /// serially (and returns false) when one fails.
    package func planRound(_ b: ShardedTransferBatch) -> Bool {
        rounds.advance(from: .resolve, to: .plan)
        chainOrphans.removeAll(keepingCapacity: true)
        for x in executions {
            if let reason = x.serialReason {
                rounds.advance(from: .plan, to: .idle)
                runSerially(b, reason: reason)
                return false
            }
        }
        let r = resolutions
        let n = b.count
        var cross = 0
        var balancing = false
        var chainHome: Int32 = -1
        var chainStart = 0
        var chainSpansShards = false
        var reason: SerialReason? = nil
        for i in 0..<n {
            let t = b.events[i]
            var home = Int32(truncatingIfNeeded: routing.shard(ofAccount: t.debitAccountId))
            if t.isPostOrVoid {
                if r.pending[i] != 0 {
                    home = Int32(truncatingIfNeeded: ShardRouting.shard(of: r.pending[i] &- 1))
                } else if r.pendingEvent[i] >= 0 {
                    let k = Int(r.pendingEvent[i])
                    home = homes[k]
                    r.debit[i] = r.debit[k]
                    r.credit[i] = r.credit[k]
                    r.foreignLedger[i] = r.foreignLedger[k]
                }
            } else {
                if t.flags.contains(.balancingDebit) || t.flags.contains(.balancingCredit) { balancing = true }
            }
            homes[i] = home
            if r.debit[i] != 0, r.credit[i] != 0,
                ShardRouting.shard(of: r.debit[i] &- 1) != ShardRouting.shard(of: r.credit[i] &- 1)
            {
                cross += 1
            }
            r.preset[i] = .none
            let linked = t.flags.contains(.linked)
            if chainHome >= 0 || linked {
                if chainHome < 0 {
                    chainHome = home
                    chainStart = i
                } else if chainHome != home {
                    chainSpansShards = true
                }
                if !linked || i == n - 1 {
                    if chainSpansShards, reason == nil, !decideChain(b, chainStart...i) {
                        reason = .crossShardChain
                    }
                    chainHome = -1
                    chainSpansShards = false
                }
            }
        }
        if balancing && cross > 0 { reason = reason ?? .balancing }
        if let reason {
            rounds.advance(from: .plan, to: .idle)
            runSerially(b, reason: reason)
            return false
        }
        rounds.advance(from: .plan, to: .execute)
        for id in chainOrphans {
            insertIntoDirectory(id, ref: ShardRouting.orphanBit, partition: routing.partition(ofTransfer: id))
        }
        stats.parallelBatches += 1
        stats.parallelEvents += n
        stats.crossShardEvents += cross
        return true
    }

    // MARK: Round 2: execute at home

    /// Decides and applies, in order, the events homed on shard `s`; legs on other shards'
    /// accounts and directory inserts are queued for round 3.
    package func executeRound(_ b: ShardedTransferBatch, shard s: Int) {
        rounds.enter(.execute, shard: s)
        let x = executions[s]
        let homes = self.homes
        let s32 = Int32(truncatingIfNeeded: s)
        let preset = resolutions.preset
        runCreates(
            b.events, timestamp: b.timestamp, results: b.results, x,
            mine: { homes[$0] == s32 && preset[$0] != .skip }, unlinked: { preset[$0] == .unlinked },
            create: { i, t, ts in executeTransfer(t, i, at: ts, x) },
            failed: { t, status in if status.isTransient { markFailed(t.id, x) } },
            rolledBack: forgetCreated)
    }

    /// Events of an undone chain created nothing: a later post naming one of them must
    /// not find the (removed) transfer through `createdRefs`.
    func forgetCreated(_ events: Range<Int>) {
        for k in events { createdRefs[k] = 0 }
    }

    // MARK: Round 3: settle

    /// Applies the legs other shards sent to shard `s` (in event order), restores the
    /// timestamp order of the touched accounts' lists, and indexes the ids queued for
    /// `s`'s directory partition.
    package func settleRound(_ b: ShardedTransferBatch, shard s: Int) {
        rounds.enter(.settle, shard: s)
        var touched: [UInt32] = []
        var cursors = Array(repeating: 0, count: shardCount)
        while true {
            var best = -1
            var bestEvent = Int32.max
            for h in 0..<shardCount where h != s {
                let legs = executions[h].legs[s]
                if cursors[h] < legs.count, legs[cursors[h]].event < bestEvent {
                    best = h
                    bestEvent = legs[cursors[h]].event
                }
            }
            guard best >= 0 else { break }
            let leg = executions[best].legs[s][cursors[best]]
            cursors[best] += 1
            let slot = account(leg.account)
            Self.applyBalances(leg, to: slot)
            if leg.transfer != AccountLeg.none {
                appendToLists(leg, slot: slot, history: slot.pointee.flags.contains(.history))
                touched.append(leg.account)
            }
        }
        if !touched.isEmpty {
            touched.sort()
            var last: UInt32? = nil
            for ref in touched where ref != last {
                last = ref
                sortListTail(ref)
            }
        }
        let directory = shards[s].directory
        for h in 0..<shardCount {
            let inserts = executions[h].inserts[s]
            for k in 0..<min(16, inserts.count) { directory.prefetch(tag: directory.tag(inserts[k].id)) }
            for k in 0..<inserts.count {
                if k + 16 < inserts.count { directory.prefetch(tag: directory.tag(inserts[k + 16].id)) }
                insertIntoDirectory(inserts[k].id, ref: inserts[k].ref, partition: s)
            }
        }
    }

    /// Puts the entries of this batch at the end of an account's list back in event
    /// (hence timestamp) order. The tail holds two runs, each already in event order: the
    /// home's own entries (round 2; transfers stored on this account's shard), then the
    /// legs from other shards (round 3); one merge restores the order. The order key comes
    /// from `createdEvents`, so no transfer record is read.
    private func sortListTail(_ ref: UInt32) {
        let own = ShardRouting.shard(of: ref)
        let list = shards[own].transferLists.pointer(at: ShardRouting.local(of: ref))
        let count = list.pointee.count
        @inline(__always) func event(_ entry: UInt32) -> Int32? {
            let shard = ShardRouting.shard(of: entry)
            let k = ShardRouting.local(of: entry) - batchStarts[shard]
            return k >= 0 ? createdEvents[shard][k] : nil
        }
        var start = count
        while start > 0, event(list.pointee[start - 1]) != nil { start -= 1 }
        var split = start
        while split < count, ShardRouting.shard(of: list.pointee[split]) == own { split += 1 }
        guard split > start, split < count else { return }  // one run: already in order
        let mine = (start..<split).map { list.pointee[$0] }
        let theirs = (split..<count).map { list.pointee[$0] }
        var i = 0
        var j = 0
        var k = start
        while i < mine.count || j < theirs.count {
            if j == theirs.count || (i < mine.count && (event(mine[i]) ?? 0) < (event(theirs[j]) ?? 0)) {
                list.pointee[k] = mine[i]
                i += 1
            } else {
                list.pointee[k] = theirs[j]
                j += 1
            }
            k += 1
        }
    }

    /// Ends round 2 (every shard executed) and starts round 3; called by the driver
    /// between the two rounds.
    package func beginSettleRound() {
        rounds.advance(from: .execute, to: .settle)
    }

    /// Ends a batch run in rounds (every shard settled).
    package func finishTransfers(_ b: ShardedTransferBatch) {
        rounds.advance(from: .settle, to: .idle)
        lastTimestamp = b.timestamp
    }
}
