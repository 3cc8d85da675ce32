/// The undo log of the linked chain being applied: every change made since the chain
/// began, so a failing chain can be rolled back exactly, ids included.
struct ChainScope {
    enum Change {
        case accountCreated
        case accountUpdated(ref: Int, previous: Account)
        case transferCreated(dr: Int, cr: Int)
        case pendingStatusChanged(ref: Int, previous: UInt8)
    }

    private(set) var isOpen = false
    var undo: [Change] = []
    /// Expiry entries of pending transfers created in the chain; queued only if it persists.
    var expiries: [ExpiryQueue.Entry] = []

    mutating func open() {
        isOpen = true
        undo.removeAll(keepingCapacity: true)
        expiries.removeAll(keepingCapacity: true)
    }

    mutating func close() {
        isOpen = false
    }
}

extension Ledger {
    /// Starts recording changes for a linked chain.
    func scopeOpen() { scope.open() }

    /// Keeps the chain's changes.
    func scopePersist() {
        for entry in scope.expiries { expiry.push(entry) }
        scope.expiries.removeAll(keepingCapacity: true)
        scope.undo.removeAll(keepingCapacity: true)
        scope.close()
    }

    /// Rolls back every change the chain made, newest first.
    func scopeDiscard() {
        while let change = scope.undo.popLast() {
            switch change {
            case .accountCreated:
                let probe = accountIndex.find(accounts[accounts.count - 1].id) { accounts[Int($0)].id }
                accountIndex.remove(at: probe.slot)
                accounts.removeLast()
                accountTransfers.removeLast()
                accountHistory.removeLast()
            case .accountUpdated(let ref, let previous):
                accounts[ref] = previous
            case .transferCreated(let dr, let cr):
                let ref = transfers.count - 1
                let t = transfers[ref]
                let probe = transferIndex.find(t.id, idOf: transferId(ref:))
                transferIndex.remove(at: probe.slot)
                transfers.removeLast()
                pendingStatuses.removeLast()
                accountTransfers[dr].removeLast()
                accountTransfers[cr].removeLast()
                if accounts[dr].flags.contains(.history) { accountHistory[dr].removeLast() }
                if accounts[cr].flags.contains(.history) { accountHistory[cr].removeLast() }
            case .pendingStatusChanged(let ref, let previous):
                pendingStatuses[ref] = previous
            }
        }
        scope.expiries.removeAll(keepingCapacity: true)
        scope.close()
    }
}
