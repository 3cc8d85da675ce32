extension ShardedLedger {
    /// The accounts with these ids, in request order (missing ids are skipped).
    public func lookupAccounts(_ ids: [UInt128]) -> [Account] {
        ids.compactMap { id in locateAccount(id).map { account($0).pointee } }
    }

    /// The transfers with these ids, in request order (missing ids are skipped).
    public func lookupTransfers(_ ids: [UInt128]) -> [Transfer] {
        ids.compactMap { id in
            guard let ref = findTransfer(id), ref & ShardRouting.orphanBit == 0 else { return nil }
            return transfer(ref)
        }
    }

    /// The pending status of a transfer, if it exists.
    public func pendingStatus(ofTransfer id: UInt128) -> PendingStatus? {
        guard let ref = findTransfer(id), ref & ShardRouting.orphanBit == 0 else { return nil }
        return PendingStatus(rawValue: shards[ShardRouting.shard(of: ref)].pendingStatuses[ShardRouting.local(of: ref)])
    }

    /// The timestamps of the transfers in an account's list, oldest first (for checks).
    package func transferTimestamps(ofAccount id: UInt128) -> [UInt64] {
        guard let ref = locateAccount(id) else { return [] }
        let list = shards[ShardRouting.shard(of: ref)].transferLists[ShardRouting.local(of: ref)]
        return (0..<list.count).map { transfer(list[$0]).timestamp }
    }

    /// The digest of the state, equal to `Ledger.digest()` of a serial ledger that applied
    /// the same batches: records are hashed in timestamp order, in the same runs.
    public func digest() -> StateDigest {
        var h = DigestHasher()
        let run = 1 << ChunkedStore<Account>.chunkShift
        h.combine(UInt64(accountCount))
        mergeByTimestamp(stores.map { $0.accounts }, timestamp: \.timestamp, run: run) { buffer, _ in
            h.combine(bytes: UnsafeRawBufferPointer(buffer))
        }
        h.combine(UInt64(transferCount))
        var statuses: [UInt8] = []
        statuses.reserveCapacity(run)
        var statusRuns: [[UInt8]] = []
        mergeByTimestamp(stores.map { $0.transfers }, timestamp: \.timestamp, run: run) { buffer, origins in
            h.combine(bytes: UnsafeRawBufferPointer(buffer))
            for (shard, local) in origins {
                statuses.append(shards[shard].pendingStatuses[local])
                if statuses.count == run {
                    statusRuns.append(statuses)
                    statuses.removeAll(keepingCapacity: true)
                }
            }
        }
        if !statuses.isEmpty { statusRuns.append(statuses) }
        for r in statusRuns { r.withUnsafeBytes { h.combine(bytes: $0) } }
        var orphanCount: UInt64 = 0
        var orphanSum: UInt64 = 0
        var orphanXor: UInt64 = 0
        for store in stores {
            for id in store.orphanIds {
                let m = DigestHasher.mix(UInt64(truncatingIfNeeded: id) ^ DigestHasher.mix(UInt64(truncatingIfNeeded: id >> 64)))
                orphanSum &+= m
                orphanXor ^= DigestHasher.mix(m)
                orphanCount += 1
            }
        }
        h.combine(orphanCount)
        h.combine(orphanSum)
        h.combine(orphanXor)
        h.combine(lastTimestamp)
        return h.digest
    }

    /// Visits the records of several timestamp-sorted stores in global timestamp order,
    /// in runs of `run` records (with each record's shard and local index).
    private func mergeByTimestamp<Element: BitwiseCopyable>(
        _ parts: [ChunkedStore<Element>], timestamp: (Element) -> UInt64, run: Int,
        _ body: (UnsafeBufferPointer<Element>, [(Int, Int)]) -> Void
    ) {
        var cursors = Array(repeating: 0, count: parts.count)
        var buffer: [Element] = []
        buffer.reserveCapacity(run)
        var origins: [(Int, Int)] = []
        origins.reserveCapacity(run)
        func flush() {
            buffer.withUnsafeBufferPointer { body($0, origins) }
            buffer.removeAll(keepingCapacity: true)
            origins.removeAll(keepingCapacity: true)
        }
        while true {
            var best = -1
            var bestTimestamp = UInt64.max
            for (k, part) in parts.enumerated() where cursors[k] < part.count {
                let ts = timestamp(part[cursors[k]])
                if best < 0 || ts < bestTimestamp {
                    best = k
                    bestTimestamp = ts
                }
            }
            guard best >= 0 else { break }
            buffer.append(parts[best][cursors[best]])
            origins.append((best, cursors[best]))
            cursors[best] += 1
            if buffer.count == run { flush() }
        }
        if !buffer.isEmpty { flush() }
    }
}

extension ShardedLedger {
    /// Positions in an account's list that pass the filter (the rules of `Ledger`).
    private func accountTransferPositions(_ filter: AccountFilter, list: TransferList) -> [Int] {
        let window = Ledger.timestampWindow(
            count: list.count, min: max(filter.timestampMin, 1),
            max: filter.timestampMax == 0 ? LedgerLimits.timestampMax : filter.timestampMax
        ) { transfer(list[$0]).timestamp }
        let limit = min(Int(filter.limit), LedgerLimits.batchMax)
        var positions: [Int] = []
        Ledger.visit(window, reversed: filter.flags.contains(.reversed)) { i in
            if filter.matches(transfer(list[i])) { positions.append(i) }
            return positions.count < limit
        }
        return positions
    }

    /// `get_account_transfers`.
    public func getAccountTransfers(_ filter: AccountFilter) -> [Transfer] {
        guard filter.isValid, let ref = locateAccount(filter.accountId) else { return [] }
        let list = shards[ShardRouting.shard(of: ref)].transferLists[ShardRouting.local(of: ref)]
        return accountTransferPositions(filter, list: list).map { transfer(list[$0]) }
    }

    /// `get_account_balances`.
    public func getAccountBalances(_ filter: AccountFilter) -> [AccountBalance] {
        guard filter.isValid, let ref = locateAccount(filter.accountId), account(ref).pointee.flags.contains(.history)
        else { return [] }
        let shard = shards[ShardRouting.shard(of: ref)]
        let history = shard.histories[ShardRouting.local(of: ref)]
        return accountTransferPositions(filter, list: shard.transferLists[ShardRouting.local(of: ref)]).map { history[$0] }
    }

    /// `query_accounts`: the shards' timestamp windows merged in timestamp order.
    public func queryAccounts(_ filter: QueryFilter) -> [Account] {
        guard filter.isValid else { return [] }
        return mergedQuery(
            filter, stores: stores.map { $0.accounts }, timestamp: { $0.timestamp },
            matches: { a in
                filter.matches(userData128: a.userData128, userData64: a.userData64, userData32: a.userData32, ledger: a.ledger, code: a.code)
            })
    }

    /// `query_transfers`: the shards' timestamp windows merged in timestamp order.
    public func queryTransfers(_ filter: QueryFilter) -> [Transfer] {
        guard filter.isValid else { return [] }
        return mergedQuery(
            filter, stores: stores.map { $0.transfers }, timestamp: { $0.timestamp },
            matches: { t in
                filter.matches(userData128: t.userData128, userData64: t.userData64, userData32: t.userData32, ledger: t.ledger, code: t.code)
            })
    }

    private func mergedQuery<Element: BitwiseCopyable>(
        _ filter: QueryFilter, stores parts: [ChunkedStore<Element>], timestamp: (Element) -> UInt64,
        matches: (Element) -> Bool
    ) -> [Element] {
        let reversed = filter.flags.contains(.reversed)
        let windows = parts.map { part in
            Ledger.timestampWindow(
                count: part.count, min: max(filter.timestampMin, 1),
                max: filter.timestampMax == 0 ? LedgerLimits.timestampMax : filter.timestampMax
            ) { timestamp(part[$0]) }
        }
        var cursors = windows.map { reversed ? $0.upperBound - 1 : $0.lowerBound }
        let limit = min(Int(filter.limit), LedgerLimits.batchMax)
        var found: [Element] = []
        while found.count < limit {
            var best = -1
            var bestTimestamp: UInt64 = 0
            for k in parts.indices where windows[k].contains(cursors[k]) {
                let ts = timestamp(parts[k][cursors[k]])
                if best < 0 || (reversed ? ts > bestTimestamp : ts < bestTimestamp) {
                    best = k
                    bestTimestamp = ts
                }
            }
            guard best >= 0 else { break }
            let element = parts[best][cursors[best]]
            cursors[best] += reversed ? -1 : 1
            if matches(element) { found.append(element) }
        }
        return found
    }
}
