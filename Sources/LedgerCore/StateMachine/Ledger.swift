/// The ledger state machine: every account and transfer in memory, changed only by
/// batches applied in order with a caller-supplied timestamp.
///
/// Deterministic: the state and every result are a pure function of the sequence of
/// batches and their timestamps (no wall clock, no randomness, no iteration over hash
/// tables). Not thread-safe: one owner (an actor or a thread) applies batches.
public final class Ledger {
    // The owners of the stores' memory, freed with the ledger; the rest of the ledger
    // works through their views (below).
    private let ownedAccounts = OwnedChunkedStore<Account>()
    private let ownedAccountIndex: OwnedIdIndex
    private let ownedTransferLists = OwnedChunkedStore<TransferList>()
    private let ownedHistories = OwnedChunkedStore<GrowableBuffer<AccountBalance>>()
    private let ownedTransfers: OwnedChunkedStore<Transfer>
    private let ownedPendingStatuses = OwnedChunkedStore<UInt8>()
    private let ownedTransferIndex: OwnedIdIndex
    private let ownedOrphanIds = OwnedChunkedStore<UInt128>()

    // MARK: Accounts
    var accounts: ChunkedStore<Account> { @inline(__always) get { ownedAccounts.store } }
    var accountIndex: IdIndex { @inline(__always) get { ownedAccountIndex.index } }
    /// Per account (same position as `accounts`): the transfers that touched it.
    var transferLists: ChunkedStore<TransferList> { @inline(__always) get { ownedTransferLists.store } }
    /// Per account (same position): with `flags.history`, its balances after each of
    /// those transfers (empty otherwise).
    var histories: ChunkedStore<GrowableBuffer<AccountBalance>> { @inline(__always) get { ownedHistories.store } }

    // MARK: Transfers
    var transfers: ChunkedStore<Transfer> { @inline(__always) get { ownedTransfers.store } }
    /// Per transfer: its `PendingStatus` raw value.
    var pendingStatuses: ChunkedStore<UInt8> { @inline(__always) get { ownedPendingStatuses.store } }
    /// Transfer ids, and ids that failed with a transient error (`orphanBit` set).
    var transferIndex: IdIndex { @inline(__always) get { ownedTransferIndex.index } }
    /// Ids that failed with a transient error and may not be used again.
    var orphanIds: ChunkedStore<UInt128> { @inline(__always) get { ownedOrphanIds.store } }
    var expiry = ExpiryQueue()
    /// Told of each pending transfer as it expires (before its amounts are released), with
    /// the cutoff it expired at: the time just before the first event of the batch whose
    /// start expired it (a pulse: the pulse's timestamp). For observers such as the change
    /// stream (`kamino cdc`); nil (the default) costs one check per expired transfer.
    /// Results never depend on it.
    package var expiryObserver: ((Transfer, UInt64) -> Void)?

    // MARK: Time and linked chains
    /// The timestamp of the last event of the last applied batch.
    public internal(set) var lastTimestamp: UInt64 = 0
    /// The timestamp of the last batch that held imported events (0: none since start or
    /// restore). Imported objects carry past timestamps, so reads guard on it (`Freshness`).
    public internal(set) var lastImportBatchTimestamp: UInt64 = 0
    /// The timestamp of the last batch (or pulse) whose start expired a pending transfer
    /// (0: none since start or restore). Expiry changes accounts without a transfer.
    public internal(set) var lastExpiryTimestamp: UInt64 = 0
    /// The transfer count the stores were reserved for (`reserveCapacity`; 0: none).
    var reservedTransfers = 0
    let scope: UnsafeMutablePointer<ChainScope>
    /// Reused memory for snapshot captures of accounts, pending statuses and histories.
    let snapshotBuffers = SnapshotBufferPool()
    let statusBuffers = SnapshotBufferPool(followsTransfers: true)
    let historyBuffers = SnapshotBufferPool()
    /// Refs of the accounts with `flags.history`, in creation order (snapshots copy their
    /// balance histories without scanning every account).
    var historyAccountRefs: ContiguousArray<UInt32> = []
    /// What the prefetch pipeline found for each event of the current batch: id tags
    /// computed once, and account and pending refs guessed ahead of time. A guess decides
    /// nothing until the record's stored id confirms it (`SerialTransferView`).
    private let ownedPrefetch = PrefetchScratch()
    var prefetched: UnsafeMutablePointer<PrefetchedEvent> { @inline(__always) get { ownedPrefetch.events } }

    static let orphanBit: UInt32 = 1 << 31
    static let refMax = Int(orphanBit) - 1

    /// Creates an empty ledger.
    /// - Parameters:
    ///   - expectedTransfers: sizes the id index up front, avoiding growth pauses.
    ///   - hashSeed: seeds the id indexes (layout only; results never depend on it).
    ///   - memoryProvisioner: faults in the transfer store's next chunk and the id index's
    ///     next table before they are written (nil: the applying thread takes those page
    ///     faults itself); results never depend on it.
    public init(
        expectedAccounts: Int = 0, expectedTransfers: Int = 0, hashSeed: UInt64 = 0x4B41_4D49_4E4F,
        memoryProvisioner: (any MemoryProvisioning)? = nil
    ) {
        ownedAccountIndex = OwnedIdIndex(seed: hashSeed, minimumCapacity: expectedAccounts)
        ownedTransferIndex = OwnedIdIndex(
            seed: hashSeed ^ 0x9E37_79B9_7F4A_7C15, minimumCapacity: expectedTransfers, provisioner: memoryProvisioner)
        ownedTransfers = OwnedChunkedStore(provisioner: memoryProvisioner)
        scope = .allocate(capacity: 1)
        scope.initialize(to: ChainScope())
    }

    deinit {
        scope.deinitialize(count: 1)
        scope.deallocate()
        // The lists' heap arrays; the stores themselves go with their owners.
        for i in 0..<transferLists.count {
            transferLists.pointer(at: i).pointee.deallocate()
            histories.pointer(at: i).pointee.deallocate()
        }
    }

    /// Number of accounts.
    public var accountCount: Int { accounts.count }
    /// Number of transfers (created ones; failed ids are not counted).
    public var transferCount: Int { transfers.count }

    // MARK: Lookups by id used everywhere

    @inline(__always)
    func accountRef(_ id: UInt128) -> Int? {
        accountIndex.find(id, in: accountIds).ref.map { Int($0) }
    }

    /// Reads account ids for the account index.
    struct AccountIds: IdSource {
        let accounts: ChunkedStore<Account>
        @inline(__always) func id(at ref: UInt32) -> UInt128 { accounts[Int(ref)].id }
    }

    /// Reads transfer ids, and failed ids (`orphanBit` set), for the transfer index.
    struct TransferIds: IdSource {
        let transfers: ChunkedStore<Transfer>
        let orphans: ChunkedStore<UInt128>
        @inline(__always) func id(at ref: UInt32) -> UInt128 {
            ref & Ledger.orphanBit == 0 ? transfers[Int(ref)].id : orphans[Int(ref & ~Ledger.orphanBit)]
        }
    }

    var accountIds: AccountIds { AccountIds(accounts: accounts) }
    var transferIds: TransferIds { TransferIds(transfers: transfers, orphans: orphanIds) }

    /// The ref of a created transfer with this id (not of a failed id).
    @inline(__always)
    func transferRef(_ id: UInt128) -> Int? {
        guard let ref = transferIndex.find(id, in: transferIds).ref,
            ref & Self.orphanBit == 0
        else { return nil }
        return Int(ref)
    }

    /// Records that `id` failed with a transient error: it can never be created later.
    func markFailed(_ id: UInt128) {
        guard orphanIds.count < Self.refMax else { return }
        let probe = transferIndex.find(id, in: transferIds)
        guard probe.ref == nil else { return }
        transferIndex.reserveOne()
        transferIndex.insertNew(id, ref: Self.orphanBit | UInt32(orphanIds.count))
        orphanIds.append(id)
    }

    /// Appends a created transfer (`t` with the amount it moved and its timestamp) and
    /// links it to both accounts' lists; `history` says which of the two accounts keep
    /// balance histories (`flags.history`).
    @inline(__always)
    func appendTransfer(
        _ t: Transfer, amount: UInt128, timestamp: UInt64, status: PendingStatus, dr: Int, cr: Int,
        history: (dr: Bool, cr: Bool), probe: IdIndex.Probe?
    ) {
        let ref = UInt32(transfers.count)
        let slot = transfers.appendReturningSlot(t)
        slot.pointee.amount = amount
        slot.pointee.timestamp = timestamp
        pendingStatuses.append(status.rawValue)
        if let probe {
            transferIndex.insert(ref: ref, at: probe)
        } else {
            transferIndex.insertNew(t.id, ref: ref)
        }
        transferLists.pointer(at: dr).pointee.append(ref)
        transferLists.pointer(at: cr).pointee.append(ref)
        if history.dr {
            histories.pointer(at: dr).pointee.append(AccountBalance(of: accounts[dr], at: timestamp))
        }
        if history.cr {
            histories.pointer(at: cr).pointee.append(AccountBalance(of: accounts[cr], at: timestamp))
        }
        if scope.pointee.isOpen { scope.pointee.undo.append(.transferCreated(dr: dr, cr: cr)) }
    }

    @inline(__always)
    func setPendingStatus(_ ref: Int, _ status: PendingStatus) {
        if scope.pointee.isOpen {
            scope.pointee.undo.append(.pendingStatusChanged(ref: ref, previous: pendingStatuses[ref]))
        }
        pendingStatuses[ref] = status.rawValue
    }

    /// Binary search for an object with exactly this timestamp among records sorted by it.
    static func containsTimestamp(_ ts: UInt64, count: Int, timestampAt: (Int) -> UInt64) -> Bool {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            let m = timestampAt(mid)
            if m == ts { return true }
            if m < ts { lo = mid + 1 } else { hi = mid }
        }
        return false
    }
}
