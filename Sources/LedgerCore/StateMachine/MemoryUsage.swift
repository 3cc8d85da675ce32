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
        for list in accountLists {
            lists += list.transfers.capacity * MemoryLayout<UInt32>.stride
            lists += list.history.capacity * MemoryLayout<AccountBalance>.stride
        }
        return MemoryUsage(
            accounts: accounts.memoryBytes + accountLists.memoryBytes + accountIndex.memoryBytes,
            transfers: transfers.memoryBytes,
            transferIndex: transferIndex.memoryBytes + orphanIds.memoryBytes,
            accountTransferLists: lists,
            pendingStatuses: pendingStatuses.memoryBytes)
    }
}
