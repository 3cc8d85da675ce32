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
        try CreateDriver.checkBatch(count: count, timestamp: timestamp, after: lastTimestamp)
    }

    /// Applies a `create_accounts` batch (always serially: accounts are created rarely
    /// and in small numbers next to transfers).
    public func createAccounts(_ events: [Account], timestamp: UInt64) throws(LedgerError)
        -> [CreateAccountResult]
    {
        rounds.requireIdle()
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

    /// Creates one account on its shard: decides it with the one rulebook
    /// (`AccountRules.decide`), then stores it if accepted.
    func createAccount(_ a: Account, at ts: UInt64, _ x: ShardExecution) -> (CreateAccountStatus, UInt64) {
        let shard = routing.shard(ofAccount: a.id)
        let store = shards[shard]
        var view = ShardedAccountView(ledger: self, store: store)
        let (status, actual) = AccountRules.decide(a, at: ts, in: &view)
        guard status == .created else { return (status, actual) }
        var account = a
        account.timestamp = actual
        store.accountIndex.insert(ref: UInt32(store.accounts.count), at: view.probe)
        store.accounts.append(account)
        store.transferLists.append(TransferList())
        store.histories.append(GrowableBuffer())
        x.record(.accountCreated(shard: shard))
        return (.created, actual)
    }

    /// The reference's rule for imported account timestamps, over every shard.
    func importedAccountTimestampRegresses(_ ts: UInt64) -> Bool {
        for s in stores {
            if let last = s.accounts.last, ts <= last.timestamp { return true }
        }
        return stores.contains { s in
            Ledger.containsTimestamp(ts, count: s.transfers.count, timestampAt: { s.transfers[$0].timestamp })
        }
    }

    /// Applies a `pulse`: advances time to `timestamp` and expires what is due by then.
    public func pulse(timestamp: UInt64) throws(LedgerError) {
        rounds.requireIdle()
        try checkBatch(count: 0, timestamp: timestamp)
        expirePending(before: timestamp + 1, serialExecution)
        lastTimestamp = timestamp
    }
}

/// The sharded ledger as `AccountRules.decide` reads it: the account's id in its shard's
/// index (the probe kept for the insert), imported timestamps over every shard.
struct ShardedAccountView: AccountDecisionView {
    /// Both outlive every view: a view lives only inside one `createAccount` call.
    unowned(unsafe) let ledger: ShardedLedger
    let store: ShardRefs
    private(set) var probe = IdIndex.Probe(ref: nil, slot: 0, tag: 0)

    init(ledger: ShardedLedger, store: ShardRefs) {
        self.ledger = ledger
        self.store = store
    }

    mutating func existing(_ id: UInt128) -> Account? {
        store.accountIndex.reserveOne()  // room for the insert that may follow
        probe = store.accountIndex.find(id, in: store.accountIds)
        return probe.ref.map { store.accounts[Int($0)] }
    }

    func importedTimestampRegresses(_ ts: UInt64) -> Bool { ledger.importedAccountTimestampRegresses(ts) }
}
