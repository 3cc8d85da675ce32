package import LedgerCore

/// Generates random but plausible traffic: several ledgers, limit flags, history, two-phase
/// with timeouts, posts and voids of earlier pending transfers, balancing and closing
/// transfers, linked chains, duplicates and a share of invalid events.
package struct RandomTraffic {
    package var rng: SplitMix64
    package var accountIds: [UInt128] = []
    /// Accounts with neither limit flag nor history: their legs commute across shards.
    package var freeAccountIds: [UInt128] = []
    /// When set, transfers use only free accounts and no closing or balancing flags, the
    /// shape a sharded ledger runs in parallel.
    package var freeOnly = false
    /// Pending transfers created while `freeOnly` was set (posts and voids in that mode
    /// name these).
    package var freePendingIds: [UInt128] = []
    private var freeAccountSet: Set<UInt128> = []
    var ledgerOf: [UInt128: UInt32] = [:]
    var pendingIds: [UInt128] = []
    var usedTransferIds: [UInt128] = []
    var nextId: UInt128 = 1

    package init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    package mutating func freshId() -> UInt128 {
        nextId += 1
        return nextId
    }

    package mutating func accounts(count: Int) -> [Account] {
        (0..<count).map { _ in
            let id = freshId()
            var flags: AccountFlags = []
            switch rng.next() % 10 {
            case 0...3: flags.insert(.debitsMustNotExceedCredits)
            case 4: flags.insert(.creditsMustNotExceedDebits)
            default: break
            }
            if rng.next() % 4 == 0 { flags.insert(.history) }
            let ledger = UInt32(1 + rng.next() % 3)
            ledgerOf[id] = ledger
            accountIds.append(id)
            if flags.isEmpty {
                freeAccountIds.append(id)
                freeAccountSet.insert(id)
            }
            return Account(id: id, userData64: rng.next() % 5, ledger: ledger, code: 1, flags: flags)
        }
    }

    /// An account id of `ledger` (or any ledger), occasionally one that does not exist.
    package mutating func account(ledger: UInt32? = nil) -> UInt128 {
        if rng.next() % 200 == 0 { return 999_999_999 + UInt128(rng.next() % 3) }
        let pool = freeOnly && !freeAccountIds.isEmpty ? freeAccountIds : accountIds
        for _ in 0..<8 {
            let id = pool[Int(rng.next() % UInt64(pool.count))]
            if ledger == nil || ledgerOf[id] == ledger { return id }
        }
        return pool[Int(rng.next() % UInt64(pool.count))]
    }

    package mutating func amount() -> UInt128 {
        if freeOnly {
            // Rare huge amounts: they push the overflow bound and force a serial batch.
            if rng.next() % 20_000 == 0 { return .max - UInt128(rng.next() % 1000) }
            return rng.next() % 100 == 0 ? 0 : UInt128(1 + rng.next() % 1000)
        }
        switch rng.next() % 100 {
        case 0: return 0
        case 1: return .max - UInt128(rng.next() % 1000)
        case 2...5: return UInt128(rng.next() % 1_000_000_000)
        default: return UInt128(1 + rng.next() % 1000)
        }
    }

    package mutating func transfer() -> Transfer {
        var id = freshId()
        if rng.next() % (freeOnly ? 400 : 50) == 0, let reused = usedTransferIds.randomElement(using: &rng) { id = reused }
        usedTransferIds.append(id)
        let roll = rng.next() % 100
        let pool = freeOnly ? freePendingIds : pendingIds
        // A third of posts and voids name one of the newest pending transfers, often
        // created earlier in the same batch (and maybe undone with its chain).
        let recent = rng.next() % 3 == 0 ? pool.suffix(40) : pool[...]
        if roll < 20, let pendingId = recent.randomElement(using: &rng) {
            // Post (maybe partial or full with max) or void an earlier pending transfer.
            let isVoid = rng.next() % 3 == 0
            var amount: UInt128 = 0
            if !isVoid {
                switch rng.next() % 4 {
                case 0: amount = .max
                case 1: amount = 0
                default: amount = UInt128(rng.next() % 800)
                }
            }
            return Transfer(
                id: id, amount: amount, pendingId: pendingId, userData32: UInt32(rng.next() % 3),
                flags: isVoid ? .voidPendingTransfer : .postPendingTransfer)
        }
        let dr = account()
        let ledger = ledgerOf[dr] ?? 1
        var cr = account(ledger: ledger)
        if cr == dr, rng.next() % 4 != 0 { cr = account(ledger: ledger) }
        var flags: TransferFlags = []
        var timeout: UInt32 = 0
        if roll < 45 {
            flags.insert(.pending)
            if rng.next() % 2 == 0 { timeout = UInt32(1 + rng.next() % 3) }
            pendingIds.append(id)
            if freeOnly { freePendingIds.append(id) }
        }
        if !freeOnly {
            if rng.next() % 25 == 0 { flags.insert(.balancingDebit) }
            if rng.next() % 25 == 0 { flags.insert(.balancingCredit) }
            // Closing only limited accounts keeps the free ones open for `freeOnly` batches.
            if rng.next() % 150 == 0, !freeAccountSet.contains(dr) { flags.insert(.closingDebit) }
            if rng.next() % 150 == 0, !freeAccountSet.contains(cr) { flags.insert(.closingCredit) }
        }
        if rng.next() % 300 == 0 { flags.insert(.postPendingTransfer) }  // invalid combination
        let ledgerField = rng.next() % 100 == 0 ? ledger + 1 : ledger
        return Transfer(
            id: id, debitAccountId: dr, creditAccountId: cr, amount: transferAmount(dr, cr),
            userData128: UInt128(rng.next() % 4), userData64: rng.next() % 4,
            timeout: timeout, ledger: ledgerField, code: UInt16(1 + rng.next() % 3), flags: flags)
    }

    /// An amount; huge ones only between limited accounts, so free accounts stay far from
    /// u128 overflow (where a sharded ledger runs serially).
    mutating func transferAmount(_ dr: UInt128, _ cr: UInt128) -> UInt128 {
        let a = amount()
        if a > 1 << 64, freeAccountSet.contains(dr) || freeAccountSet.contains(cr) { return a & 0xFFFF }
        return a
    }

    package mutating func transferBatch(size: Int) -> [Transfer] {
        var batch = (0..<size).map { _ in transfer() }
        // Link random runs into chains; sometimes leave the last chain open.
        var i = 0
        while i < batch.count {
            if rng.next() % (freeOnly ? 40 : 8) == 0 {
                let length = Int(1 + rng.next() % 4)
                let run = i..<min(i + length + 1, batch.count)
                // In `freeOnly` batches, chains of new transfers only (a sharded ledger
                // decides those across shards; chains with posts or voids run serially).
                let linkable = !freeOnly || batch[run].allSatisfy { $0.pendingId == 0 && !$0.flags.contains(.postPendingTransfer) }
                if linkable {
                    for k in i..<min(i + length, batch.count - 1) { batch[k].flags.insert(.linked) }
                }
                i += length + 1
            } else {
                i += 1
            }
        }
        if rng.next() % 20 == 0, let last = batch.indices.last { batch[last].flags.insert(.linked) }
        return batch
    }
}

/// Money invariants that must hold after every batch.
