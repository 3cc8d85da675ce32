extension AccountFilter {
    /// The reference's validity rule; an invalid filter yields no results.
    var isValid: Bool {
        accountId != 0 && accountId != .max
            && timestampMin <= LedgerLimits.timestampMax && timestampMax <= LedgerLimits.timestampMax
            && (timestampMax == 0 || timestampMin <= timestampMax)
            && limit != 0
            && (flags.contains(.debits) || flags.contains(.credits))
            && flags.rawValue & AccountFilterFlags.reservedMask == 0
            && reservedIsZero
    }

    func matches(_ t: Transfer) -> Bool {
        ((flags.contains(.debits) && t.debitAccountId == accountId)
            || (flags.contains(.credits) && t.creditAccountId == accountId))
            && (userData128 == 0 || t.userData128 == userData128)
            && (userData64 == 0 || t.userData64 == userData64)
            && (userData32 == 0 || t.userData32 == userData32)
            && (code == 0 || t.code == code)
    }
}

extension QueryFilter {
    /// The reference's validity rule; an invalid filter yields no results.
    var isValid: Bool {
        timestampMin <= LedgerLimits.timestampMax && timestampMax <= LedgerLimits.timestampMax
            && (timestampMax == 0 || timestampMin <= timestampMax)
            && limit != 0
            && flags.rawValue & QueryFilterFlags.reservedMask == 0
            && reservedIsZero
    }

    func matches(userData128 u128: UInt128, userData64 u64: UInt64, userData32 u32: UInt32, ledger l: UInt32, code c: UInt16) -> Bool {
        (userData128 == 0 || u128 == userData128)
            && (userData64 == 0 || u64 == userData64)
            && (userData32 == 0 || u32 == userData32)
            && (ledger == 0 || l == ledger)
            && (code == 0 || c == code)
    }
}

extension Ledger {
    /// Positions `lo..<hi` of a timestamp-sorted sequence whose timestamps lie in `min...max`.
    static func timestampWindow(count: Int, min: UInt64, max: UInt64, timestampAt: (Int) -> UInt64) -> Range<Int> {
        func lowerBound(_ value: UInt64) -> Int {
            var lo = 0
            var hi = count
            while lo < hi {
                let mid = (lo + hi) / 2
                if timestampAt(mid) < value { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        let lo = lowerBound(min)
        let hi = max == .max ? count : lowerBound(max + 1)
        return lo..<Swift.max(lo, hi)
    }

    /// Visits positions of `window` in ascending or descending order until `body` returns false.
    static func visit(_ window: Range<Int>, reversed: Bool, _ body: (Int) -> Bool) {
        if reversed {
            for i in window.reversed() where !body(i) { return }
        } else {
            for i in window where !body(i) { return }
        }
    }

    /// Positions in the account's transfer list matching `filter`, in the filter's order.
    private func accountTransferPositions(_ filter: AccountFilter, account ref: Int) -> [Int] {
        let refs = transferLists[ref]
        let window = Self.timestampWindow(
            count: refs.count, min: max(filter.timestampMin, 1),
            max: filter.timestampMax == 0 ? LedgerLimits.timestampMax : filter.timestampMax
        ) { transfers[Int(refs[$0])].timestamp }
        let limit = min(Int(filter.limit), LedgerLimits.batchMax)
        var positions: [Int] = []
        // At most one allocation: grown by appends, a page of 20 took five.
        positions.reserveCapacity(min(limit, window.count))
        Self.visit(window, reversed: filter.flags.contains(.reversed)) { i in
            if filter.matches(transfers[Int(refs[i])]) { positions.append(i) }
            return positions.count < limit
        }
        return positions
    }

    /// `get_account_transfers`: the account's transfers matching `filter`, oldest first
    /// (newest first with `reversed`), at most `limit` (and at most `LedgerLimits.batchMax`).
    public func getAccountTransfers(_ filter: AccountFilter) -> [Transfer] {
        guard filter.isValid, let ref = accountRef(filter.accountId) else { return [] }
        let refs = transferLists[ref]
        return accountTransferPositions(filter, account: ref).map { transfers[Int(refs[$0])] }
    }

    /// `get_account_balances`: the account's balances after each transfer matching `filter`.
    /// Empty unless the account exists and has `flags.history`.
    public func getAccountBalances(_ filter: AccountFilter) -> [AccountBalance] {
        guard filter.isValid, let ref = accountRef(filter.accountId),
            accounts[ref].flags.contains(.history)
        else { return [] }
        let history = histories[ref]
        return accountTransferPositions(filter, account: ref).map { history[$0] }
    }

    /// `query_accounts`: accounts matching every non-zero field of `filter`, by timestamp.
    public func queryAccounts(_ filter: QueryFilter) -> [Account] {
        guard filter.isValid else { return [] }
        let window = Self.timestampWindow(
            count: accounts.count, min: max(filter.timestampMin, 1),
            max: filter.timestampMax == 0 ? LedgerLimits.timestampMax : filter.timestampMax
        ) { accounts[$0].timestamp }
        let limit = min(Int(filter.limit), LedgerLimits.batchMax)
        var found: [Account] = []
        Self.visit(window, reversed: filter.flags.contains(.reversed)) { i in
            let a = accounts[i]
            if filter.matches(userData128: a.userData128, userData64: a.userData64, userData32: a.userData32, ledger: a.ledger, code: a.code) {
                found.append(a)
            }
            return found.count < limit
        }
        return found
    }

    /// `query_transfers`: transfers matching every non-zero field of `filter`, by timestamp.
    public func queryTransfers(_ filter: QueryFilter) -> [Transfer] {
        guard filter.isValid else { return [] }
        let window = Self.timestampWindow(
            count: transfers.count, min: max(filter.timestampMin, 1),
            max: filter.timestampMax == 0 ? LedgerLimits.timestampMax : filter.timestampMax
        ) { transfers[$0].timestamp }
        let limit = min(Int(filter.limit), LedgerLimits.batchMax)
        var found: [Transfer] = []
        Self.visit(window, reversed: filter.flags.contains(.reversed)) { i in
            let t = transfers[i]
            if filter.matches(userData128: t.userData128, userData64: t.userData64, userData32: t.userData32, ledger: t.ledger, code: t.code) {
                found.append(t)
            }
            return found.count < limit
        }
        return found
    }
}
