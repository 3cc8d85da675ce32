extension ShardedLedger {
    /// The shared create-batch driver (`CreateDriver`) over the events for which `mine`
    /// is true: all of them serially, or one home's in a round. A chain's events are all
    /// on one executor (the plan makes sure of it), except chains the plan decided
    /// itself: their events are skipped (`mine` false) or, when the chain succeeds, run as
    /// unlinked events (`unlinked` true). `rolledBack` is told the events of a chain that
    /// was undone.
    @inline(__always)
    func runCreates<Event: CreateEvent, Result: CreateResultRecord>(
        _ events: UnsafeBufferPointer<Event>,
        timestamp: UInt64,
        results: UnsafeMutablePointer<Result>,
        _ x: ShardExecution,
        mine: (Int) -> Bool,
        unlinked: (Int) -> Bool = { _ in false },
        create: (Int, Event, UInt64) -> (Result.Status, UInt64),
        failed: (Event, Result.Status) -> Void,
        rolledBack: (Range<Int>) -> Void = { _ in }
    ) {
        CreateDriver.run(
            events, timestamp: timestamp, results: results, mine: mine, unlinked: unlinked,
            openChain: { x.openChain() },
            discardChain: { chain in
                rollBack(x)
                rolledBack(chain)
            },
            persistChain: { persist(x) },
            create: create, failed: failed)
    }

    /// Checks a batch's size and timestamp against the ledger's clock.
    func checkBatch(count: Int, timestamp: UInt64) throws(LedgerError) {
        guard count <= LedgerLimits.batchMax else {
            throw LedgerError(.batchTooLarge, "\(count) events; at most \(LedgerLimits.batchMax)")
        }
        guard timestamp <= LedgerLimits.timestampMax, timestamp >= UInt64(count),
            timestamp - UInt64(count) >= lastTimestamp, timestamp > lastTimestamp
        else {
            throw LedgerError(
                .timestampNotIncreasing,
                "batch timestamp \(timestamp) for \(count) events after \(lastTimestamp)")
        }
    }

    /// Applies a `create_accounts` batch (always serially: accounts are created rarely
    /// and in small numbers next to transfers).
    public func createAccounts(_ events: [Account], timestamp: UInt64) throws(LedgerError)
        -> [CreateAccountResult]
    {
        try checkBatch(count: events.count, timestamp: timestamp)
        for s in stores where s.accounts.count + events.count > ShardRouting.localCapacity {
            throw LedgerError(.capacityExhausted, "account store is full")
        }
        let x = serialExecution
        expirePending(before: timestamp - UInt64(events.count) + 1, x)
        stats.serialBatches[SerialReason.createAccounts.rawValue] += 1
        let results = events.withUnsafeBufferPointer { buffer in
            [CreateAccountResult](unsafeUninitializedCapacity: buffer.count) { out, initialized in
                if let base = out.baseAddress {
                    runCreates(
                        buffer, timestamp: timestamp, results: base, x, mine: { _ in true },
                        create: { _, a, ts in createAccount(a, at: ts, x) }, failed: { _, _ in })
                }
                initialized = buffer.count
            }
        }
        lastTimestamp = timestamp
        return results
    }

    /// Creates one account on its shard (the rules of `Ledger.createAccount`).
    func createAccount(_ a: Account, at ts: UInt64, _ x: ShardExecution) -> (CreateAccountStatus, UInt64) {
        if a.reserved != 0 { return (.reservedField, ts) }
        if a.flags.rawValue & AccountFlags.reservedMask != 0 { return (.reservedFlag, ts) }
        if a.id == 0 { return (.idMustNotBeZero, ts) }
        if a.id == .max { return (.idMustNotBeIntMax, ts) }
        let shard = routing.shard(ofAccount: a.id)
        let store = shards[shard]
        store.accountIndex.reserveOne()
        let probe = store.accountIndex.find(a.id, in: store.accountIds)
        if let ref = probe.ref { return AccountRules.exists(a, store.accounts[Int(ref)]) }
        if let status = AccountRules.checkNew(a) { return (status, ts) }
        var actual = ts
        if a.flags.contains(.imported) {
            for s in stores {
                if let last = s.accounts.last, a.timestamp <= last.timestamp {
                    return (.importedEventTimestampMustNotRegress, ts)
                }
            }
            for s in stores where Ledger.containsTimestamp(a.timestamp, count: s.transfers.count, timestampAt: { s.transfers[$0].timestamp }) {
                return (.importedEventTimestampMustNotRegress, ts)
            }
            actual = a.timestamp
        }
        var account = a
        account.timestamp = actual
        store.accountIndex.insert(ref: UInt32(store.accounts.count), at: probe)
        store.accounts.append(account)
        store.transferLists.append(TransferList())
        store.histories.append(GrowableBuffer())
        x.record(.accountCreated(shard: shard))
        return (.created, actual)
    }

    /// Applies a `pulse`: advances time to `timestamp` and expires what is due by then.
    public func pulse(timestamp: UInt64) throws(LedgerError) {
        try checkBatch(count: 0, timestamp: timestamp)
        expirePending(before: timestamp + 1, serialExecution)
        lastTimestamp = timestamp
    }
}
