/// One shard's part of a sharded ledger: its accounts (with their transfer lists and
/// balance histories), the transfers homed on it, their pending statuses and expiries,
/// and its partition of the transfer-id directory (with the failed ids it indexes).
///
/// Transfer-list entries and directory values are packed refs (`ShardRouting`), so a
/// list may name transfers stored on other shards.
final class ShardStore {
    // The owners of the stores' memory, freed with the shard; everything else works
    // through their views (below, and `ShardRefs`).
    private let ownedAccounts = OwnedChunkedStore<Account>()
    private let ownedAccountIndex: OwnedIdIndex
    private let ownedTransferLists = OwnedChunkedStore<TransferList>()
    private let ownedHistories = OwnedChunkedStore<GrowableBuffer<AccountBalance>>()
    private let ownedTransfers = OwnedChunkedStore<Transfer>()
    private let ownedPendingStatuses = OwnedChunkedStore<UInt8>()
    private let ownedOrphanIds = OwnedChunkedStore<UInt128>()
    private let ownedDirectory: OwnedIdIndex

    var accounts: ChunkedStore<Account> { ownedAccounts.store }
    var accountIndex: IdIndex { ownedAccountIndex.index }
    var transferLists: ChunkedStore<TransferList> { ownedTransferLists.store }
    var histories: ChunkedStore<GrowableBuffer<AccountBalance>> { ownedHistories.store }
    var transfers: ChunkedStore<Transfer> { ownedTransfers.store }
    var pendingStatuses: ChunkedStore<UInt8> { ownedPendingStatuses.store }
    /// Failed ids indexed by this shard's directory partition.
    var orphanIds: ChunkedStore<UInt128> { ownedOrphanIds.store }
    /// This shard's partition of the transfer-id directory: packed refs of transfers on
    /// any shard, and of failed ids (orphan bit) stored here.
    var directory: IdIndex { ownedDirectory.index }
    var expiry = ExpiryQueue()
    /// Blocks kept between snapshots for the copies of accounts, statuses and histories
    /// (see `SnapshotBufferPool`).
    let snapshotBuffers = SnapshotBufferPool()
    let statusBuffers = SnapshotBufferPool(followsTransfers: true)
    let historyBuffers = SnapshotBufferPool()

    init(hashSeed: UInt64, expectedAccounts: Int, expectedTransfers: Int) {
        ownedAccountIndex = OwnedIdIndex(seed: hashSeed, minimumCapacity: expectedAccounts)
        ownedDirectory = OwnedIdIndex(seed: hashSeed ^ 0x9E37_79B9_7F4A_7C15, minimumCapacity: expectedTransfers)
    }

    deinit {
        // The lists' heap arrays; the stores themselves go with their owners.
        for i in 0..<transferLists.count {
            transferLists.pointer(at: i).pointee.deallocate()
            histories.pointer(at: i).pointee.deallocate()
        }
    }

    /// Reads account ids for this shard's account index.
    struct AccountIds: IdSource {
        let accounts: ChunkedStore<Account>
        @inline(__always) func id(at ref: UInt32) -> UInt128 { accounts[Int(ref)].id }
    }

    var accountIds: AccountIds { AccountIds(accounts: accounts) }
}

/// One shard's stores as plain values (pointer structs): the hot paths reach every
/// shard's storage through these, so two threads never touch a shared reference count.
/// Views of the `ShardStore`'s owners: valid while the ledger holding that store lives.
struct ShardRefs {
    unowned(unsafe) let store: ShardStore
    let accounts: ChunkedStore<Account>
    let accountIndex: IdIndex
    let transferLists: ChunkedStore<TransferList>
    let histories: ChunkedStore<GrowableBuffer<AccountBalance>>
    let transfers: ChunkedStore<Transfer>
    let pendingStatuses: ChunkedStore<UInt8>
    let orphanIds: ChunkedStore<UInt128>
    let directory: IdIndex

    init(_ s: ShardStore) {
        store = s
        accounts = s.accounts
        accountIndex = s.accountIndex
        transferLists = s.transferLists
        histories = s.histories
        transfers = s.transfers
        pendingStatuses = s.pendingStatuses
        orphanIds = s.orphanIds
        directory = s.directory
    }

    var accountIds: ShardStore.AccountIds { ShardStore.AccountIds(accounts: accounts) }
}

/// Reads the id behind a directory value: a transfer on any shard or a failed id.
struct DirectoryIds: IdSource {
    /// The ledger that owns the stores outlives every use.
    let shards: UnsafePointer<ShardRefs>

    @inline(__always)
    func id(at ref: UInt32) -> UInt128 {
        let shard = shards[ShardRouting.shard(of: ref)]
        if ref & ShardRouting.orphanBit != 0 { return shard.orphanIds[ShardRouting.local(of: ref)] }
        return shard.transfers[ShardRouting.local(of: ref)].id
    }
}
