/// The sharded ledger as `TransferRules.decide` reads it for event `i`: what the resolve
/// round (or, serially, `resolveLive`) found, the transfers of this batch created so far,
/// and the accounts as the executor may see them.
///
/// Holds plain values (pointer structs) only: the shards of a round decide at once, and a
/// reference to the ledger would make them share its reference count.
struct ShardedTransferView: TransferDecisionView {
    private let shards: UnsafeMutablePointer<ShardRefs>
    private let shardCount: Int
    private let resolutions: Resolutions
    private let createdRefs: UnsafeMutablePointer<UInt32>
    /// The executor's shard in a parallel round, or -1 (serial: every record is its own).
    private let home: Int

    init(_ ledger: ShardedLedger, _ x: ShardExecution) {
        shards = ledger.shards
        shardCount = ledger.shardCount
        resolutions = ledger.resolutions
        createdRefs = ledger.createdRefs
        home = x.deferred ? x.home : -1
    }

    @inline(__always)
    func existing(_ t: Transfer, event i: Int) -> StoredTransferId<UInt32, Void> {
        let value = resolutions.existing[i]
        guard value != 0 else { return .none(()) }
        let ref = value &- 1
        return ref & ShardRouting.orphanBit != 0 ? .failed : .transfer(ref)
    }

    /// Found by the resolve round, or created by an earlier event of this batch.
    @inline(__always)
    func pendingTransfer(_ t: Transfer, event i: Int) -> UInt32? {
        let r = resolutions
        if r.pending[i] != 0 { return r.pending[i] &- 1 }
        let k = Int(r.pendingEvent[i])
        if k >= 0, createdRefs[k] != 0 { return createdRefs[k] &- 1 }
        return nil
    }

    @inline(__always)
    func transfer(_ ref: UInt32) -> Transfer {
        shards[ShardRouting.shard(of: ref)].transfers[ShardRouting.local(of: ref)]
    }

    @inline(__always)
    func pendingStatus(_ ref: UInt32) -> UInt8 {
        shards[ShardRouting.shard(of: ref)].pendingStatuses[ShardRouting.local(of: ref)]
    }

    @inline(__always)
    func debitAccount(_ t: Transfer, event i: Int) -> UInt32? {
        let value = resolutions.debit[i]
        return value != 0 ? value &- 1 : nil
    }

    @inline(__always)
    func creditAccount(_ t: Transfer, event i: Int) -> UInt32? {
        let value = resolutions.credit[i]
        return value != 0 ? value &- 1 : nil
    }

    /// Resolved with the pending transfer (or copied by the plan from the event of this
    /// batch that created it).
    @inline(__always)
    func pendingAccounts(_ p: Transfer, event i: Int) -> (debit: UInt32, credit: UInt32) {
        let r = resolutions
        precondition(r.debit[i] != 0 && r.credit[i] != 0, "a pending transfer's accounts always exist")
        return (r.debit[i] &- 1, r.credit[i] &- 1)
    }

    /// The account as the executor may see it: whole, except another shard's account in
    /// a parallel round. That one is free (the plan made sure: no limit or history flag,
    /// not closed, no overflow possible), so only its ledger can decide a result, and
    /// round 1 saved it: round 2 never reads a record another shard is writing.
    @inline(__always)
    func account(_ ref: UInt32, event i: Int) -> Account {
        let shard = ShardRouting.shard(of: ref)
        if home >= 0 && shard != home {
            return Account(id: 0, ledger: resolutions.foreignLedger[i], code: 0)
        }
        return shards[shard].accounts.pointer(at: ShardRouting.local(of: ref)).pointee
    }

    /// Strictly after every transfer and different from every account's timestamp, over
    /// every shard (imported batches run serially).
    func importedTimestampRegresses(_ ts: UInt64) -> Bool {
        for k in 0..<shardCount {
            let transfers = shards[k].transfers
            if transfers.count > 0, ts <= transfers[transfers.count - 1].timestamp { return true }
        }
        for k in 0..<shardCount {
            let accounts = shards[k].accounts
            if Ledger.containsTimestamp(ts, count: accounts.count, timestampAt: { accounts[$0].timestamp }) { return true }
        }
        return false
    }
}
