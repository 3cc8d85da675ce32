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
    /// Sizes the transfer id index for `transfers` transfers in all (about 13 bytes each,
    /// reserved now), so that it never grows below that: no growth work while applying
    /// batches (about a fifth of the apply time at 10M transfers, measured). Results never
    /// depend on it. Moves every indexed id once: call it at start-up.
    public func reserveCapacity(transfers: Int) {
        transferIndex.ensureCapacity(min(max(transfers, 0), Self.refMax))
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
