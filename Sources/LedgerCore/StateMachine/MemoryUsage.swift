/// Bytes of memory a ledger holds, by structure.
public struct MemoryUsage: Sendable {
    public var accounts: Int
    public var transfers: Int
    public var transferIndex: Int
    public var accountTransferLists: Int
    public var pendingStatuses: Int
    public var total: Int { accounts + transfers + transferIndex + accountTransferLists + pendingStatuses }
}

extension Ledger {
    /// Sets aside now what `transfers` transfers in all will need of the memory that grows
    /// per transfer (start-up capacity, as TigerBeetle allocates everything at start): the
    /// transfer store's chunks (128 bytes a transfer), the pending-status bytes (1), and
    /// the id index at the size it needs for them (about 13 bytes a transfer), which then
    /// neither grows nor prepares a bigger table below that count; a later
    /// `prepareSnapshotMemory` sizes the snapshots' copy of the statuses for it too. Each
    /// new block is handed to `faultIn` (before the index's table is zeroed), so the caller
    /// can fault it in, on several threads, before serving: appends up to `transfers` then
    /// take no page fault for growth. Not reserved: the per-account lists of transfer refs (one
    /// heap array per account, not pooled) and balance histories. Results never depend on
    /// it; growth past `transfers` works as before. Moves every indexed id once: call it
    /// at start-up (after recovery, it reserves what the recovered state lacks).
    /// - Returns: what was reserved now.
    @discardableResult
    public func reserveCapacity(
        transfers: Int, faultIn: ([UnsafeMutableRawBufferPointer]) -> Void = { _ in }
    ) -> CapacityReservation {
        let total = min(max(transfers, 0), Self.refMax)
        reservedTransfers = max(reservedTransfers, total)
        let blocks = self.transfers.reserve(forCount: total) + pendingStatuses.reserve(forCount: total)
        faultIn(blocks)
        var bytes = blocks.reduce(0) { $0 + $1.count }
        bytes += transferIndex.ensureCapacity(total) { faultIn([$0]) }
        return CapacityReservation(transfers: total, bytes: bytes, blocks: blocks.count)
    }

    /// Bytes `reserveCapacity(transfers:)` sets aside in an empty ledger (transfer records,
    /// status bytes, the id index; not the snapshots' copy of the statuses): lets a caller
    /// refuse a capacity the machine cannot hold before trying.
    public static func capacityBytes(transfers: Int) -> Int {
        let total = min(max(transfers, 0), refMax)
        return ChunkedStore<Transfer>.chunkBytes(forCount: total) + ChunkedStore<UInt8>.chunkBytes(forCount: total)
            + (1 << IdIndex.capacityLog2(for: total)) * MemoryLayout<UInt64>.stride
    }

    /// Chunks the stores grown per transfer had to add while appending, and growths of the
    /// transfer id index (started or prepared ahead): all 0 while a ledger whose capacity
    /// was reserved (`reserveCapacity`) fills up to it. For tests and diagnostics.
    package var growthCounts: (transferChunks: Int, statusChunks: Int, indexGrowths: Int) {
        (transfers.grownChunks, pendingStatuses.grownChunks, transferIndex.growths)
    }

    /// Memory held by the main structures (capacity, not just what is used).
    public var memoryUsage: MemoryUsage {
        var lists = 0
        for list in transferLists { lists += list.heapBytes }
        for history in histories { lists += history.capacity * MemoryLayout<AccountBalance>.stride }
        return MemoryUsage(
            accounts: accounts.memoryBytes + transferLists.memoryBytes + histories.memoryBytes + accountIndex.memoryBytes,
            transfers: transfers.memoryBytes,
            transferIndex: transferIndex.memoryBytes + orphanIds.memoryBytes,
            accountTransferLists: lists,
            pendingStatuses: pendingStatuses.memoryBytes)
    }
}

/// What `Ledger.reserveCapacity(transfers:faultIn:)` set aside at start-up.
public struct CapacityReservation: Sendable, Equatable {
    /// The transfer count reserved for.
    public var transfers: Int
    /// Bytes allocated (and handed to `faultIn`) by this reservation; 0 when the ledger
    /// already had room for `transfers`.
    public var bytes: Int
    /// Blocks of memory the stores added (chunks), not counting the id index's table.
    public var blocks: Int
}
