extension Ledger {
    /// Applies a `create_accounts` batch whose last event has `timestamp`.
    /// - Returns: one result per event, in order.
    public func createAccounts(_ events: [Account], timestamp: UInt64) throws(LedgerError)
        -> [CreateAccountResult]
    {
        let results = try events.withUnsafeBufferPointer { (buffer) throws(LedgerError) in
            try [CreateAccountResult].written(count: buffer.count, placeholder: .init(timestamp: 0, status: .created)) {
                (out) throws(LedgerError) in try createAccounts(buffer, timestamp: timestamp, into: out)
            }
        }
        return results
    }

    /// Applies a `create_accounts` batch, writing one result per event into `results`
    /// (which must have room for `events.count`).
    public func createAccounts(
        _ events: UnsafeBufferPointer<Account>, timestamp: UInt64,
        into results: UnsafeMutableBufferPointer<CreateAccountResult>
    ) throws(LedgerError) {
        precondition(results.count >= events.count)
        guard accounts.count + events.count <= Self.refMax else {
            throw LedgerError(.capacityExhausted, "account store is full")
        }
        _ = try beginBatch(count: events.count, timestamp: timestamp)
        guard let out = results.baseAddress else { lastTimestamp = timestamp; return }
        executeCreate(
            events, timestamp: timestamp, results: out,
            create: { _, account, ts in createAccount(account, at: ts) },
            failed: { _, _ in }  // create_accounts errors never depend on changing state
        )
    }

    /// Creates one account: decides it with the one rulebook (`AccountRules.decide`),
    /// then stores it if accepted.
    func createAccount(_ a: Account, at eventTimestamp: UInt64)
        -> (CreateAccountStatus, UInt64)
    {
        var view = SerialAccountView(ledger: self)
        let (status, actual) = AccountRules.decide(a, at: eventTimestamp, in: &view)
        guard status == .created else { return (status, actual) }
        var account = a
        account.timestamp = actual
        accountIndex.insert(ref: UInt32(accounts.count), at: view.probe)
        if account.flags.contains(.history) { historyAccountRefs.append(UInt32(accounts.count)) }
        accounts.append(account)
        transferLists.append(TransferList())
        histories.append(GrowableBuffer())
        if scope.pointee.isOpen { scope.pointee.undo.append(.accountCreated) }
        return (.created, actual)
    }

    /// The reference's rule for imported account timestamps.
    func importedAccountTimestampRegresses(_ ts: UInt64) -> Bool {
        if let last = accounts.last, ts <= last.timestamp { return true }
        return transferTimestampExists(ts)
    }

    func transferTimestampExists(_ ts: UInt64) -> Bool {
        Self.containsTimestamp(ts, count: transfers.count) { transfers[$0].timestamp }
    }

    func accountTimestampExists(_ ts: UInt64) -> Bool {
        Self.containsTimestamp(ts, count: accounts.count) { accounts[$0].timestamp }
    }
}

/// The serial `Ledger` as `AccountRules.decide` reads it; keeps the id-index probe of
/// the account's id for the insert that follows.
struct SerialAccountView: AccountDecisionView {
    /// The ledger outlives every view: a view lives only inside one `createAccount` call.
    unowned(unsafe) let ledger: Ledger
    private(set) var probe = IdIndex.Probe(ref: nil, slot: 0, tag: 0)

    init(ledger: Ledger) { self.ledger = ledger }

    mutating func existing(_ id: UInt128) -> Account? {
        ledger.accountIndex.reserveOne()  // room for the insert that may follow
        probe = ledger.accountIndex.find(id, in: ledger.accountIds)
        return probe.ref.map { ledger.accounts[Int($0)] }
    }

    func importedTimestampRegresses(_ ts: UInt64) -> Bool { ledger.importedAccountTimestampRegresses(ts) }
}
