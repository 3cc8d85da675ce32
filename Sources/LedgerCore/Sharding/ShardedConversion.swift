extension ShardedLedger {
    /// A sharded copy of a serial ledger's state (for recovery from a snapshot, which is
    /// written in the serial layout): same accounts, transfers, statuses, lists, histories,
    /// failed ids, expiries and clock, so it has the same digest.
    package convenience init(copying ledger: Ledger, shardCount: Int) throws(LedgerError) {
        self.init(shardCount: shardCount, expectedAccounts: ledger.accountCount,
                  expectedTransfers: ledger.transferCount + ledger.orphanIds.count)
        // Accounts, in timestamp order on each shard.
        var accountRefs = [UInt32](repeating: 0, count: ledger.accounts.count)
        for i in 0..<ledger.accounts.count {
            let a = ledger.accounts[i]
            let s = routing.shard(ofAccount: a.id)
            let store = stores[s]
            guard store.accounts.count < ShardRouting.localCapacity else {
                throw LedgerError(.capacityExhausted, "too many accounts for \(shardCount) shard(s)")
            }
            store.accountIndex.insertNew(a.id, ref: UInt32(store.accounts.count))
            accountRefs[i] = ShardRouting.pack(shard: s, local: store.accounts.count)
            store.accounts.append(a)
            store.transferLists.append(TransferList())
            store.histories.append(GrowableBuffer())
        }
        // Transfers on their debit account's shard; list entries on both accounts.
        var transferRefs = [UInt32](repeating: 0, count: ledger.transfers.count)
        for i in 0..<ledger.transfers.count {
            let t = ledger.transfers[i]
            guard let dr = ledger.accountRef(t.debitAccountId), let cr = ledger.accountRef(t.creditAccountId) else {
                throw LedgerError(.capacityExhausted, "transfer \(t.id) names a missing account")
            }
            let home = ShardRouting.shard(of: accountRefs[dr])
            let store = stores[home]
            guard store.transfers.count < ShardRouting.localCapacity else {
                throw LedgerError(.capacityExhausted, "too many transfers for \(shardCount) shard(s)")
            }
            let ref = ShardRouting.pack(shard: home, local: store.transfers.count)
            transferRefs[i] = ref
            store.transfers.append(t)
            store.pendingStatuses.append(ledger.pendingStatuses[i])
            stores[routing.partition(ofTransfer: t.id)].directory.insertNew(t.id, ref: ref)
            for account in [accountRefs[dr], accountRefs[cr]] {
                let target = stores[ShardRouting.shard(of: account)]
                target.transferLists.pointer(at: ShardRouting.local(of: account)).pointee.append(ref)
            }
        }
        // Balance histories: one entry per list entry of a history account, same order.
        for i in 0..<ledger.accounts.count where ledger.accounts[i].flags.contains(.history) {
            let source = ledger.histories[i]
            let target = stores[ShardRouting.shard(of: accountRefs[i])].histories
                .pointer(at: ShardRouting.local(of: accountRefs[i]))
            for k in 0..<source.count { target.pointee.append(source[k]) }
        }
        for id in ledger.orphanIds {
            insertIntoDirectory(id, ref: ShardRouting.orphanBit, partition: routing.partition(ofTransfer: id))
        }
        for entry in ledger.expiry.heap {
            let ref = transferRefs[Int(entry.ref)]
            stores[ShardRouting.shard(of: ref)].expiry.push(
                ExpiryQueue.Entry(expiresAt: entry.expiresAt, ref: UInt32(ShardRouting.local(of: ref))))
        }
        lastTimestamp = ledger.lastTimestamp
    }
}
