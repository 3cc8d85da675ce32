extension Ledger {
    /// Applies a `create_accounts` batch whose last event has `timestamp`.
    /// - Returns: one result per event, in order.
    public func createAccounts(_ events: [Account], timestamp: UInt64) throws(LedgerError)
        -> [CreateAccountResult]
    {
        let results = try events.withUnsafeBufferPointer { (buffer) throws(LedgerError) in
            try [CreateAccountResult](unsafeUninitializedCapacity: buffer.count) {
                (out, initialized) throws(LedgerError) in
                try createAccounts(buffer, timestamp: timestamp, into: out)
                initialized = buffer.count
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

    /// Creates one account; checks in the reference's order of precedence.
    func createAccount(_ a: Account, at eventTimestamp: UInt64)
        -> (CreateAccountStatus, UInt64)
    {
        let ts = eventTimestamp
        if a.reserved != 0 { return (.reservedField, ts) }
        if a.flags.rawValue & AccountFlags.reservedMask != 0 { return (.reservedFlag, ts) }
        if a.id == 0 { return (.idMustNotBeZero, ts) }
        if a.id == .max { return (.idMustNotBeIntMax, ts) }

        accountIndex.reserveOne()
        let probe = accountIndex.find(a.id, in: accountIds)
        if let ref = probe.ref { return AccountRules.exists(a, accounts[Int(ref)]) }

        if let status = AccountRules.checkNew(a) { return (status, ts) }

        var actual = ts
        if a.flags.contains(.imported) {
            // After the idempotency checks, so that re-imports still report `exists`.
            if let last = accounts.last, a.timestamp <= last.timestamp {
                return (.importedEventTimestampMustNotRegress, ts)
            }
            if transferTimestampExists(a.timestamp) {
                return (.importedEventTimestampMustNotRegress, ts)
            }
            actual = a.timestamp
        }

        var account = a
        account.timestamp = actual
        accountIndex.insert(ref: UInt32(accounts.count), at: probe)
        if account.flags.contains(.history) { historyAccountRefs.append(UInt32(accounts.count)) }
        accounts.append(account)
        transferLists.append(TransferList())
        histories.append(GrowableBuffer())
        if scope.pointee.isOpen { scope.pointee.undo.append(.accountCreated) }
        return (.created, actual)
    }

    func transferTimestampExists(_ ts: UInt64) -> Bool {
        Self.containsTimestamp(ts, count: transfers.count) { transfers[$0].timestamp }
    }

    func accountTimestampExists(_ ts: UInt64) -> Bool {
        Self.containsTimestamp(ts, count: accounts.count) { accounts[$0].timestamp }
    }
}
