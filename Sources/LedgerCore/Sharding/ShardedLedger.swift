/// The ledger split across shards: accounts partitioned by id, transfers homed on their
/// debit account's shard, transfer ids in a partitioned directory.
///
/// Every batch gives, event for event, the results and the state that the serial `Ledger`
/// gives (its digest is the same). A `create_transfers` batch runs in three rounds, each
/// of which a shard can run in parallel with the others:
/// 1. `resolve`: each shard looks up, read-only, the ids of the events its directory
///    partition indexes: the transfer, the pending transfer, the accounts, and whether
///    the batch can run in parallel;
/// 2. `execute`: each shard decides and applies the events homed on it, in order; legs on
///    other shards' accounts and directory inserts are queued, not done;
/// 3. `settle`: each shard applies the legs sent to it (in event order) and inserts into
///    its directory partition.
/// Between rounds, `plan` (one thread) assigns homes and checks the parallel rules; a
/// batch that breaks them runs serially, event by event, over all shards. Rounds touch
/// disjoint memory, except reads of fields no round writes; the caller must run all
/// shards of a round to completion before the next round starts, and calls
/// `beginSettleRound` between rounds 2 and 3. `rounds` (a `RoundSequence`) checks that
/// order with preconditions: each shard runs each round once, in its phase, and no phase
/// ends before every shard ran it; serial work runs only between batches.
///
/// Not thread-safe beyond that contract: one driver (`ShardedLedger.createTransfers`, or
/// the engine's shard actors) owns it.
public final class ShardedLedger {
    package let routing: ShardRouting
    let stores: [ShardStore]
    /// Unretained references to `stores` for the hot paths.
    let shards: UnsafeMutablePointer<ShardRefs>
    /// One executor per shard for the parallel rounds.
    let executions: [ShardExecution]
    /// The executor for serial work (all shards, writes done at once).
    let serialExecution: ShardExecution
    /// The timestamp of the last event of the last applied batch.
    public internal(set) var lastTimestamp: UInt64 = 0
    package internal(set) var stats = ShardingStats()
    /// Batches with fewer events run serially (rounds cost more than they save).
    package var parallelThreshold = 64
    /// The sum of the current batch's amounts (saturating): no account that receives legs
    /// from other shards may come within it of overflow.
    var batchAmountBound: UInt128 = 0
    /// Failed ids of chains the plan decided (indexed once the batch runs in parallel).
    var chainOrphans: [UInt128] = []
    /// The phase of the batch in rounds: what keeps the rounds apart, checked at every
    /// round's entry and whenever the driver moves on.
    let rounds: RoundSequence

    // MARK: Per-batch scratch (LedgerLimits.batchMax entries each)
    let resolutions: Resolutions
    let homes: UnsafeMutablePointer<Int32>
    /// Packed ref + 1 of the transfer each event created in this batch (0: none).
    let createdRefs: UnsafeMutablePointer<UInt32>
    /// Per shard: its transfer count when the batch began, and the event that created each
    /// transfer it stored since (the order of this batch's list entries, without reading
    /// the records).
    let batchStarts: UnsafeMutablePointer<Int>
    let createdEvents: [UnsafeMutablePointer<Int32>]
    /// Per partition: the batch's ids it indexes, to find duplicates and same-batch pendings.
    let batchIds: [BatchIdTable]

    /// Creates an empty sharded ledger.
    /// - Parameters:
    ///   - expectedTransfers: sizes the directory up front, avoiding growth pauses.
    package init(shardCount: Int, expectedAccounts: Int = 0, expectedTransfers: Int = 0,
                 hashSeed: UInt64 = 0x4B41_4D49_4E4F) {
        routing = ShardRouting(shardCount: shardCount)
        rounds = RoundSequence(shardCount: shardCount)
        var stores: [ShardStore] = []
        for s in 0..<shardCount {
            stores.append(ShardStore(
                hashSeed: hashSeed &+ UInt64(s) &* 0x9E37_79B9_7F4A_7C15,
                expectedAccounts: expectedAccounts / shardCount + 16,
                expectedTransfers: expectedTransfers / shardCount + 16))
        }
        self.stores = stores
        shards = .allocate(capacity: shardCount)
        for s in 0..<shardCount { (shards + s).initialize(to: ShardRefs(stores[s])) }
        executions = (0..<shardCount).map { ShardExecution(shardCount: shardCount, deferred: true, home: $0) }
        serialExecution = ShardExecution(shardCount: shardCount, deferred: false, home: 0)
        resolutions = Resolutions(capacity: LedgerLimits.batchMax)
        homes = .allocate(capacity: LedgerLimits.batchMax)
        createdRefs = .allocate(capacity: LedgerLimits.batchMax)
        batchStarts = .allocate(capacity: shardCount)
        batchStarts.initialize(repeating: 0, count: shardCount)
        createdEvents = (0..<shardCount).map { _ in .allocate(capacity: LedgerLimits.batchMax) }
        batchIds = (0..<shardCount).map { _ in BatchIdTable() }
    }

    deinit {
        shards.deinitialize(count: routing.shardCount)
        shards.deallocate()
        resolutions.deallocate()
        homes.deallocate()
        createdRefs.deallocate()
        batchStarts.deallocate()
        for events in createdEvents { events.deallocate() }
    }

    /// Number of shards.
    public var shardCount: Int { routing.shardCount }
    /// Number of accounts.
    public var accountCount: Int { stores.reduce(0) { $0 + $1.accounts.count } }
    /// Number of transfers.
    public var transferCount: Int { stores.reduce(0) { $0 + $1.transfers.count } }
    /// Accounts, transfers and failed ids stored (what capacity limits count).
    package var recordCount: Int { stores.reduce(0) { $0 + $1.accounts.count + $1.transfers.count + $1.orphanIds.count } }

    var directoryIds: DirectoryIds { DirectoryIds(shards: UnsafePointer(shards)) }

    // MARK: Lookups by id (read-only)

    /// The packed ref of the account with this id.
    @inline(__always)
    func locateAccount(_ id: UInt128) -> UInt32? {
        let s = routing.shard(ofAccount: id)
        let store = shards[s]
        guard let ref = store.accountIndex.find(id, in: store.accountIds).ref else { return nil }
        return ShardRouting.pack(shard: s, local: Int(ref))
    }

    /// The directory value for this transfer id: a packed transfer ref, or a failed id.
    @inline(__always)
    func findTransfer(_ id: UInt128) -> UInt32? {
        shards[routing.partition(ofTransfer: id)].directory.find(id, in: directoryIds).ref
    }

    @inline(__always)
    func account(_ ref: UInt32) -> UnsafeMutablePointer<Account> {
        shards[ShardRouting.shard(of: ref)].accounts.pointer(at: ShardRouting.local(of: ref))
    }

    @inline(__always)
    func transfer(_ ref: UInt32) -> Transfer {
        shards[ShardRouting.shard(of: ref)].transfers[ShardRouting.local(of: ref)]
    }

    // MARK: Writes

    /// Applies a leg now (serial mode, or the home's own account), or queues it for the
    /// account's shard (another shard's account in a parallel round).
    @inline(__always)
    func apply(_ leg: AccountLeg, _ x: ShardExecution) {
        let shard = ShardRouting.shard(of: leg.account)
        if x.deferred && shard != x.home {
            x.legs[shard].append(leg)
            return
        }
        let slot = account(leg.account)
        x.record(.accountUpdated(account: leg.account, previous: slot.pointee))
        Self.applyBalances(leg, to: slot)
        if leg.transfer != AccountLeg.none {
            let history = slot.pointee.flags.contains(.history)
            appendToLists(leg, slot: slot, history: history)
            x.record(.listAppended(account: leg.account, history: history))
        }
    }

    @inline(__always)
    static func applyBalances(_ leg: AccountLeg, to slot: UnsafeMutablePointer<Account>) {
        switch leg.kind {
        case .create:
            switch (leg.isDebit, leg.isPending) {
            case (true, true): slot.pointee.debitsPending += leg.amount
            case (true, false): slot.pointee.debitsPosted += leg.amount
            case (false, true): slot.pointee.creditsPending += leg.amount
            case (false, false): slot.pointee.creditsPosted += leg.amount
            }
            if leg.toggleClosed { slot.pointee.flags.insert(.closed) }
        case .post:
            if leg.isDebit {
                slot.pointee.debitsPending -= leg.pendingAmount
                slot.pointee.debitsPosted += leg.amount
            } else {
                slot.pointee.creditsPending -= leg.pendingAmount
                slot.pointee.creditsPosted += leg.amount
            }
        case .release:
            if leg.isDebit {
                slot.pointee.debitsPending -= leg.pendingAmount
            } else {
                slot.pointee.creditsPending -= leg.pendingAmount
            }
            if leg.toggleClosed { slot.pointee.flags.remove(.closed) }
        }
    }

    @inline(__always)
    func appendToLists(_ leg: AccountLeg, slot: UnsafeMutablePointer<Account>, history: Bool) {
        let shard = shards[ShardRouting.shard(of: leg.account)]
        let local = ShardRouting.local(of: leg.account)
        shard.transferLists.pointer(at: local).pointee.append(leg.transfer)
        if history { shard.histories.pointer(at: local).pointee.append(AccountBalance(of: slot.pointee, at: leg.timestamp)) }
    }

    /// Indexes a transfer id now (serial mode) or queues it for the partition's owner.
    @inline(__always)
    func index(_ id: UInt128, ref: UInt32, _ x: ShardExecution) {
        let p = routing.partition(ofTransfer: id)
        if x.deferred {
            x.inserts[p].append(DirectoryInsert(id: id, ref: ref))
            return
        }
        insertIntoDirectory(id, ref: ref, partition: p)
        x.record(.directoryInserted(partition: p, id: id))
    }

    /// Inserts into a directory partition; a failed id is stored in that partition's shard.
    func insertIntoDirectory(_ id: UInt128, ref: UInt32, partition p: Int) {
        let store = shards[p]
        var value = ref
        if ref == ShardRouting.orphanBit {
            guard store.orphanIds.count < ShardRouting.localCapacity else { return }
            if store.directory.find(id, in: directoryIds).ref != nil { return }
            value = ShardRouting.orphanBit | ShardRouting.pack(shard: p, local: store.orphanIds.count)
            store.orphanIds.append(id)
        }
        store.directory.insertNew(id, ref: value)
    }

    /// Rolls back the open chain of an executor, newest change first.
    func rollBack(_ x: ShardExecution) {
        while let change = x.undo.popLast() {
            switch change {
            case .accountCreated(let s):
                let store = shards[s]
                let ref = store.accounts.count - 1
                store.accountIndex.remove(store.accounts[ref].id, in: store.accountIds)
                store.accounts.removeLast()
                store.transferLists.pointer(at: ref).pointee.deallocate()
                store.histories.pointer(at: ref).pointee.deallocate()
                store.transferLists.removeLast()
                store.histories.removeLast()
            case .accountUpdated(let ref, let previous):
                account(ref).pointee = previous
            case .listAppended(let ref, let history):
                let shard = shards[ShardRouting.shard(of: ref)]
                shard.transferLists.pointer(at: ShardRouting.local(of: ref)).pointee.removeLast()
                if history { shard.histories.pointer(at: ShardRouting.local(of: ref)).pointee.removeLast() }
            case .transferCreated(let s):
                shards[s].transfers.removeLast()
                shards[s].pendingStatuses.removeLast()
            case .directoryInserted(let p, let id):
                shards[p].directory.remove(id, in: directoryIds)
            case .pendingStatusChanged(let ref, let previous):
                shards[ShardRouting.shard(of: ref)].pendingStatuses[ShardRouting.local(of: ref)] = previous
            }
        }
        x.truncateOutbox()
        x.closeChain()
    }

    /// Keeps the open chain's changes.
    func persist(_ x: ShardExecution) {
        for (s, entry) in x.chainExpiries { stores[s].expiry.push(entry) }
        x.closeChain()
    }
}
