#if !_endian(little)
#error("snapshots store records in host layout, which is the canonical layout only on little-endian hosts")
#endif

/// A captured state that a thread of its own can write as snapshot bytes (the one file
/// format, whatever layout it was captured from) while the ledger goes on applying.
public protocol SnapshotImage: AnyObject, Sendable {
    /// Streams the snapshot's canonical bytes to `sink`, in pieces of at most a few MiB.
    func write(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows
}

/// A consistent image of a ledger's state at one moment, cheap to take and safe to write
/// from another thread while the ledger goes on applying batches.
///
/// Taking it copies only what can still change (account balances and flags, pending
/// statuses, history lists); transfers and failed ids are append-only, so it keeps
/// pointers to their chunks. It holds the ledger alive, and the ledger must not be used by
/// the writing thread: only the captured buffers are read.
public final class LedgerSnapshot: SnapshotImage, @unchecked Sendable {
    static let magic: UInt64 = 0x3150_414E_534E_4D4B  // "KMNSNAP1"
    static let version: UInt32 = 1

    private let owner: AnyObject
    public let lastTimestamp: UInt64
    let accounts: RecordCopy<Account>
    let transferRuns: [UnsafeBufferPointer<Transfer>]
    public let transferCount: Int
    let statuses: RecordCopy<UInt8>
    let orphanRuns: [UnsafeBufferPointer<UInt128>]
    let orphanCount: Int
    /// Per history account: its ref and the range of its balances in `historyBalances`.
    let history: [(ref: UInt32, start: Int, count: Int)]
    let historyBalances: GatheredCopy<AccountBalance>

    init(_ ledger: Ledger) {
        owner = ledger
        lastTimestamp = ledger.lastTimestamp
        accounts = RecordCopy(ledger.accounts, pool: ledger.snapshotBuffers)
        let count = ledger.transfers.count
        transferCount = count
        transferRuns = ledger.transfers.frozenRuns(count: count)
        statuses = RecordCopy(ledger.pendingStatuses, pool: ledger.statusBuffers)
        orphanCount = ledger.orphanIds.count
        orphanRuns = ledger.orphanIds.frozenRuns(count: orphanCount)
        var history: [(ref: UInt32, start: Int, count: Int)] = []
        history.reserveCapacity(ledger.historyAccountRefs.count)
        var total = 0
        for ref in ledger.historyAccountRefs {
            let count = ledger.histories[Int(ref)].count
            history.append((ref, total, count))
            total += count
        }
        let balances = GatheredCopy<AccountBalance>(capacity: total, pool: ledger.historyBuffers)
        for ref in ledger.historyAccountRefs {
            let list = ledger.histories[Int(ref)]
            balances.append(UnsafeBufferPointer(start: list.base, count: list.count))
        }
        historyBalances = balances
        self.history = history
    }

    public var accountCount: Int { accounts.count }

    /// Streams the snapshot's canonical bytes to `sink`, in pieces of at most a few MiB.
    public func write(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try Self.writeHeader(
            lastTimestamp: lastTimestamp, accounts: accounts.count, transfers: transferCount, orphans: orphanCount,
            histories: history.count, to: sink)
        try sink(UnsafeRawBufferPointer(accounts.buffer))
        for run in transferRuns { try sink(UnsafeRawBufferPointer(run)) }
        try sink(UnsafeRawBufferPointer(statuses.buffer))
        for run in orphanRuns { try sink(UnsafeRawBufferPointer(run)) }
        for (ref, start, count) in history {
            try Self.writeHistory(ref: ref, UnsafeBufferPointer(rebasing: historyBalances.buffer[start..<start + count]), to: sink)
        }
    }

    /// The content header: magic, version, the clock and the section counts (56 bytes).
    static func writeHeader(
        lastTimestamp: UInt64, accounts: Int, transfers: Int, orphans: Int, histories: Int,
        to sink: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        var header = ByteWriter(capacity: 64)
        header.write(Self.magic)
        header.write(Self.version)
        header.write(UInt32(0))
        header.write(lastTimestamp)
        header.write(UInt64(accounts))
        header.write(UInt64(transfers))
        header.write(UInt64(orphans))
        header.write(UInt64(histories))
        try header.bytes.withUnsafeBytes(sink)
    }

    /// One history account's entry: its ref, its count, then 72 bytes per balance.
    static func writeHistory(
        ref: UInt32, _ balances: UnsafeBufferPointer<AccountBalance>, to sink: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        var w = ByteWriter(capacity: 8)
        w.write(ref)
        w.write(UInt32(balances.count))
        try w.bytes.withUnsafeBytes(sink)
        for b in balances {
            var e = ByteWriter(capacity: 72)
            e.writeU128(b.debitsPending)
            e.writeU128(b.debitsPosted)
            e.writeU128(b.creditsPending)
            e.writeU128(b.creditsPosted)
            e.write(b.timestamp)
            try e.bytes.withUnsafeBytes(sink)
        }
    }
}

/// A private copy of a chunked store's records in one block, made with one memory copy
/// per chunk into a block from `pool`, and given back to it when the snapshot is freed.
final class RecordCopy<Element: BitwiseCopyable>: @unchecked Sendable {
    private let block: SnapshotBufferPool.Block
    private let pool: SnapshotBufferPool
    let count: Int

    init(_ store: ChunkedStore<Element>, pool: SnapshotBufferPool) {
        count = store.count
        self.pool = pool
        block = pool.take(bytes: max(count, 1) * MemoryLayout<Element>.stride)
        let base = block.base.bindMemory(to: Element.self, capacity: max(count, 1))
        var offset = 0
        store.forEachRun(in: 0..<count) { run in
            if let source = run.baseAddress { (base + offset).initialize(from: source, count: run.count) }
            offset += run.count
        }
    }

    deinit { pool.give(block) }

    var buffer: UnsafeBufferPointer<Element> {
        UnsafeBufferPointer(start: block.base.assumingMemoryBound(to: Element.self), count: count)
    }
}

/// Records gathered from several lists into one block from `pool`, given back when the
/// snapshot is freed.
final class GatheredCopy<Element: BitwiseCopyable>: @unchecked Sendable {
    private let block: SnapshotBufferPool.Block
    private let pool: SnapshotBufferPool
    private let base: UnsafeMutablePointer<Element>
    private let capacity: Int
    private(set) var count = 0

    init(capacity: Int, pool: SnapshotBufferPool) {
        self.pool = pool
        self.capacity = max(capacity, 1)
        block = pool.take(bytes: self.capacity * MemoryLayout<Element>.stride)
        base = block.base.bindMemory(to: Element.self, capacity: self.capacity)
    }

    /// Adds a run; the capacity was counted from the same runs, so it always fits.
    func append(_ run: UnsafeBufferPointer<Element>) {
        precondition(count + run.count <= capacity, "gathered more records than were counted")
        guard let source = run.baseAddress else { return }
        (base + count).initialize(from: source, count: run.count)
        count += run.count
    }

    deinit { pool.give(block) }

    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }
}

/// Supplies a snapshot's bytes to `Ledger(snapshot:)`.
public protocol SnapshotReader {
    /// Fills `buffer` completely, or throws when the input ends first.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws

    /// The next `count` bytes in place (any alignment), valid while the reader lives, when
    /// the reader holds its input in memory (a mapped file); nil when it cannot, and then
    /// nothing was consumed (the loader reads them into memory of its own).
    mutating func next(inPlace count: Int) throws -> UnsafeRawBufferPointer?
}

extension SnapshotReader {
    /// Readers that stream: never in place.
    public mutating func next(inPlace count: Int) throws -> UnsafeRawBufferPointer? { nil }
}

extension Ledger {
    /// Maps (page-faults) the memory the next snapshot will copy accounts into, so that even
    /// the first snapshot's pause is only a memory copy. Call at start-up or when idle. The
    /// copy of the pending statuses is sized for the transfers reserved by
    /// `reserveCapacity` when there are fewer: no snapshot below that count maps more.
    public func prepareSnapshotMemory() {
        snapshotBuffers.give(snapshotBuffers.take(bytes: max(accounts.count, 1) * MemoryLayout<Account>.stride))
        statusBuffers.give(statusBuffers.take(bytes: max(pendingStatuses.count, reservedTransfers, 1)))
        var historyEntries = 0
        for ref in historyAccountRefs { historyEntries += histories[Int(ref)].count }
        historyBuffers.give(historyBuffers.take(bytes: max(historyEntries, 1) * MemoryLayout<AccountBalance>.stride))
    }

    /// Captures the state for a snapshot (see `LedgerSnapshot`). Costs O(accounts + transfers
    /// bytes of pending status), not O(transfer records).
    public func snapshot() -> LedgerSnapshot { LedgerSnapshot(self) }
}
