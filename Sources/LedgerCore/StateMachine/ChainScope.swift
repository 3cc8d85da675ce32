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
    func scopeOpen() { scope.pointee.open() }

    /// Keeps the chain's changes.
    func scopePersist() {
        for entry in scope.pointee.expiries { expiry.push(entry) }
        scope.pointee.expiries.removeAll(keepingCapacity: true)
        scope.pointee.undo.removeAll(keepingCapacity: true)
        scope.pointee.close()
    }

    /// Rolls back every change the chain made, newest first.
    func scopeDiscard() {
        while let change = scope.pointee.undo.popLast() {
            switch change {
            case .accountCreated:
                let ref = accounts.count - 1
                if historyAccountRefs.last == UInt32(ref) { historyAccountRefs.removeLast() }
                accountIndex.remove(accounts[ref].id, in: accountIds)
                accounts.removeLast()
                transferLists.pointer(at: ref).pointee.deallocate()
                histories.pointer(at: ref).pointee.deallocate()
                transferLists.removeLast()
                histories.removeLast()
            case .accountUpdated(let ref, let previous):
                accounts[ref] = previous
            case .transferCreated(let dr, let cr):
                let ref = transfers.count - 1
                let t = transfers[ref]
                transferIndex.remove(t.id, in: transferIds)
                transfers.removeLast()
                pendingStatuses.removeLast()
                transferLists.pointer(at: dr).pointee.removeLast()
                transferLists.pointer(at: cr).pointee.removeLast()
                if accounts[dr].flags.contains(.history) { histories.pointer(at: dr).pointee.removeLast() }
                if accounts[cr].flags.contains(.history) { histories.pointer(at: cr).pointee.removeLast() }
            case .pendingStatusChanged(let ref, let previous):
                pendingStatuses[ref] = previous
            }
        }
        scope.pointee.expiries.removeAll(keepingCapacity: true)
        scope.pointee.close()
    }
}
