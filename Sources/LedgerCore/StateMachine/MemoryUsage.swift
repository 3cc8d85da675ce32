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
    /// Memory held by the main structures (capacity, not just what is used).
    public var memoryUsage: MemoryUsage {
        var lists = 0
        for list in accountTransfers { lists += list.capacity * MemoryLayout<UInt32>.stride }
        for list in accountHistory { lists += list.capacity * MemoryLayout<AccountBalance>.stride }
        lists += accountTransfers.capacity * MemoryLayout<ContiguousArray<UInt32>>.stride * 2
        return MemoryUsage(
            accounts: accounts.capacity * MemoryLayout<Account>.stride + accountIndex.memoryBytes,
            transfers: transfers.memoryBytes,
            transferIndex: transferIndex.memoryBytes + orphanIds.capacity * 16,
            accountTransferLists: lists,
            pendingStatuses: pendingStatuses.memoryBytes)
    }
}
