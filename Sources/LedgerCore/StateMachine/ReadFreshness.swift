/// A read's freshness: the newest change timestamp its answer depends on. The answer is
/// the same in every state that holds all batches with timestamps up to it, so it may
/// leave once the log is durable up to a record with that timestamp (batch timestamps
/// rise with the LSN and each event's timestamp lies in its batch's range).
///
/// Two ledger-wide guards cover the changes whose timestamps do not say when they were
/// applied: imported objects (past timestamps) and expiry (changes accounts with no
/// transfer). While either guard is newer than the durable point, reads wait.
extension Ledger {
    /// Of `lookup_transfers`, `get_account_transfers` and `query_transfers` answers:
    /// transfers never change once created.
    public func freshness(ofTransfers found: [Transfer]) -> UInt64 {
        var newest = lastImportBatchTimestamp
        for t in found { newest = max(newest, t.timestamp) }
        return newest
    }

    /// Of `get_account_balances` answers: history entries never change once appended
    /// (expiry appends none).
    public func freshness(ofBalances found: [AccountBalance]) -> UInt64 {
        var newest = lastImportBatchTimestamp
        for b in found { newest = max(newest, b.timestamp) }
        return newest
    }

    /// Of `lookup_accounts` and `query_accounts` answers: per account, its creation and
    /// the last transfer in its list (every transfer that changed its balances or flags
    /// is in it; linked-chain rollbacks remove theirs), plus expiry's guard.
    public func freshness(ofAccounts found: [Account]) -> UInt64 {
        var newest = max(lastImportBatchTimestamp, lastExpiryTimestamp)
        for a in found {
            newest = max(newest, a.timestamp)
            guard let ref = accountRef(a.id) else {
                preconditionFailure("an account a read just returned exists: accounts are never deleted")
            }
            let list = transferLists[ref]
            if list.count > 0 { newest = max(newest, transfers[Int(list[list.count - 1])].timestamp) }
        }
        return newest
    }
}

extension ShardedLedger {
    /// The sharded layout does not track freshness: its reads always wait (`UInt64.max`).
    public func freshness(ofTransfers found: [Transfer]) -> UInt64 { .max }
    /// The sharded layout does not track freshness: its reads always wait (`UInt64.max`).
    public func freshness(ofBalances found: [AccountBalance]) -> UInt64 { .max }
    /// The sharded layout does not track freshness: its reads always wait (`UInt64.max`).
    public func freshness(ofAccounts found: [Account]) -> UInt64 { .max }
}
