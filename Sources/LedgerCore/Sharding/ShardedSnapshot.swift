/// A consistent image of a sharded ledger's state, written in the serial snapshot format
/// (records in global timestamp order), so any layout loads it: `Ledger(snapshot:)`, then
/// `ShardedLedger(copying:shardCount:)` for a sharded one.
///
/// Taking it copies per shard only what can still change (accounts, pending statuses,
/// history lists) into pooled blocks, and keeps the chunk runs of the append-only transfers
/// and failed ids. The merge into timestamp order happens when it is written, on the
/// writer's thread. It holds the ledger alive; only the captured buffers and runs are read.
public final class ShardedSnapshot: SnapshotImage, @unchecked Sendable {
    /// One shard's part.
    private struct Part {
        let accounts: RecordCopy<Account>
        let transferRuns: [UnsafeBufferPointer<Transfer>]
        let transferCount: Int
        let statuses: RecordCopy<UInt8>
        let orphanRuns: [UnsafeBufferPointer<UInt128>]
        /// Per history account: its local ref and the range of its balances in `historyBalances`.
        let history: [(local: Int, start: Int, count: Int)]
        let historyBalances: GatheredCopy<AccountBalance>

        /// The transfer at local ref `i` (runs are whole chunks but the last).
        func transfer(_ i: Int) -> Transfer {
            let shift = ChunkedStore<Transfer>.chunkShift
            return transferRuns[i >> shift][i & ((1 << shift) - 1)]
        }
    }

    private let owner: AnyObject
    public let lastTimestamp: UInt64
    private let parts: [Part]

    init(_ ledger: ShardedLedger) {
        owner = ledger
        lastTimestamp = ledger.lastTimestamp
        parts = ledger.stores.map { store in
            let accounts = RecordCopy(store.accounts, pool: store.snapshotBuffers)
            var history: [(local: Int, start: Int, count: Int)] = []
            var total = 0
            for (local, account) in accounts.buffer.enumerated() where account.flags.contains(.history) {
                let count = store.histories[local].count
                history.append((local, total, count))
                total += count
            }
            let balances = GatheredCopy<AccountBalance>(capacity: total, pool: store.historyBuffers)
            for entry in history {
                let list = store.histories[entry.local]
                balances.append(UnsafeBufferPointer(start: list.base, count: list.count))
            }
            let transferCount = store.transfers.count
            return Part(
                accounts: accounts, transferRuns: store.transfers.frozenRuns(count: transferCount),
                transferCount: transferCount, statuses: RecordCopy(store.pendingStatuses, pool: store.statusBuffers),
                orphanRuns: store.orphanIds.frozenRuns(count: store.orphanIds.count), history: history,
                historyBalances: balances)
        }
    }

    public var accountCount: Int { parts.reduce(0) { $0 + $1.accounts.count } }
    public var transferCount: Int { parts.reduce(0) { $0 + $1.transferCount } }

    /// Streams the snapshot's canonical bytes to `sink`: the serial layout's sections, with
    /// accounts and transfers merged across shards by timestamp (timestamps are unique).
    public func write(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let orphans = parts.reduce(0) { $0 + $1.orphanRuns.reduce(0) { $0 + $1.count } }
        let histories = parts.reduce(0) { $0 + $1.history.count }
        try LedgerSnapshot.writeHeader(
            lastTimestamp: lastTimestamp, accounts: accountCount, transfers: transferCount, orphans: orphans,
            histories: histories, to: sink)
        let run = 1 << ChunkedStore<Account>.chunkShift

        // Accounts, and the serial ref each one gets (for the history entries).
        var serialRefs = parts.map { [UInt32](repeating: 0, count: $0.accounts.count) }
        var accounts: [Account] = []
        accounts.reserveCapacity(run)
        var next = 0
        var accountOrder = TimestampMerge(counts: parts.map(\.accounts.count))
        while let (shard, local) = accountOrder.next(timestamp: { parts[$0].accounts.buffer[$1].timestamp }) {
            accounts.append(parts[shard].accounts.buffer[local])
            serialRefs[shard][local] = UInt32(next)
            next += 1
            if accounts.count == run {
                try accounts.withUnsafeBytes(sink)
                accounts.removeAll(keepingCapacity: true)
            }
        }
        try accounts.withUnsafeBytes(sink)

        // Transfers, with their statuses in the same order.
        var transfers: [Transfer] = []
        transfers.reserveCapacity(run)
        var statuses: [UInt8] = []
        statuses.reserveCapacity(transferCount)
        var transferOrder = TimestampMerge(counts: parts.map(\.transferCount))
        while let (shard, local) = transferOrder.next(timestamp: { parts[$0].transfer($1).timestamp }) {
            transfers.append(parts[shard].transfer(local))
            statuses.append(parts[shard].statuses.buffer[local])
            if transfers.count == run {
                try transfers.withUnsafeBytes(sink)
                transfers.removeAll(keepingCapacity: true)
            }
        }
        try transfers.withUnsafeBytes(sink)
        try statuses.withUnsafeBytes(sink)

        for part in parts {
            for orphans in part.orphanRuns { try sink(UnsafeRawBufferPointer(orphans)) }
        }

        var entries: [(serial: UInt32, shard: Int, index: Int)] = []
        for (shard, part) in parts.enumerated() {
            for (index, entry) in part.history.enumerated() { entries.append((serialRefs[shard][entry.local], shard, index)) }
        }
        entries.sort { $0.serial < $1.serial }
        for entry in entries {
            let part = parts[entry.shard]
            let (_, start, count) = part.history[entry.index]
            try LedgerSnapshot.writeHistory(
                ref: entry.serial, UnsafeBufferPointer(rebasing: part.historyBalances.buffer[start..<start + count]), to: sink)
        }
    }
}

/// Walks several timestamp-sorted parts in global timestamp order: each `next` gives the
/// part and index of the record with the smallest timestamp not visited yet.
private struct TimestampMerge {
    private let counts: [Int]
    private var cursors: [Int]

    init(counts: [Int]) {
        self.counts = counts
        cursors = Array(repeating: 0, count: counts.count)
    }

    /// `timestamp(part, index)` reads a record's timestamp; nil once every part is done.
    mutating func next(timestamp: (Int, Int) -> UInt64) -> (Int, Int)? {
        var best = -1
        var bestTimestamp = UInt64.max
        for k in 0..<counts.count where cursors[k] < counts[k] {
            let ts = timestamp(k, cursors[k])
            if best < 0 || ts < bestTimestamp {
                best = k
                bestTimestamp = ts
            }
        }
        guard best >= 0 else { return nil }
        defer { cursors[best] += 1 }
        return (best, cursors[best])
    }
}

extension ShardedLedger {
    /// Captures the state for a snapshot (see `ShardedSnapshot`). Call between batches,
    /// by the ledger's one driver.
    package func snapshot() -> ShardedSnapshot { ShardedSnapshot(self) }
}
