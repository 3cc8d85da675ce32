extension Ledger {
    /// `lookup_accounts`: the accounts that exist, in the order asked; unknown ids are skipped.
    public func lookupAccounts(_ ids: [UInt128]) -> [Account] {
        var found: [Account] = []
        found.reserveCapacity(ids.count)
        for id in ids {
            if let ref = accountRef(id) { found.append(accounts[ref]) }
        }
        return found
    }

    /// `lookup_transfers`: the transfers that exist, in the order asked; unknown ids are skipped.
    public func lookupTransfers(_ ids: [UInt128]) -> [Transfer] {
        var found: [Transfer] = []
        found.reserveCapacity(ids.count)
        for id in ids {
            if let ref = transferRef(id) { found.append(transfers[ref]) }
        }
        return found
    }

    /// The state of a pending transfer (`.none` for other transfers), or nil if unknown.
    public func pendingStatus(ofTransfer id: UInt128) -> PendingStatus? {
        guard let ref = transferRef(id) else { return nil }
        return PendingStatus(rawValue: pendingStatuses[ref])
    }
}

extension Ledger {
    /// The timestamps of the transfers in an account's list, oldest first (for checks).
    package func transferTimestamps(ofAccount id: UInt128) -> [UInt64] {
        guard let ref = accountRef(id) else { return [] }
        let list = transferLists[ref]
        return (0..<list.count).map { transfers[Int(list[$0])].timestamp }
    }
}
