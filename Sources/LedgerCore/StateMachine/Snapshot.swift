#if !_endian(little)
#error("snapshots store records in host layout, which is the canonical layout only on little-endian hosts")
#endif

/// A consistent image of a ledger's state at one moment, cheap to take and safe to write
/// from another thread while the ledger goes on applying batches.
///
/// Taking it copies only what can still change (account balances and flags, pending
/// statuses, history lists); transfers and failed ids are append-only, so it keeps
/// pointers to their chunks. It holds the ledger alive, and the ledger must not be used by
/// the writing thread: only the captured buffers are read.
public final class LedgerSnapshot: @unchecked Sendable {
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
        var header = ByteWriter(capacity: 64)
        header.write(Self.magic)
        header.write(Self.version)
        header.write(UInt32(0))
        header.write(lastTimestamp)
        header.write(UInt64(accounts.count))
        header.write(UInt64(transferCount))
        header.write(UInt64(orphanCount))
        header.write(UInt64(history.count))
        try header.bytes.withUnsafeBytes(sink)
        try sink(UnsafeRawBufferPointer(accounts.buffer))
        for run in transferRuns { try sink(UnsafeRawBufferPointer(run)) }
        try sink(UnsafeRawBufferPointer(statuses.buffer))
        for run in orphanRuns { try sink(UnsafeRawBufferPointer(run)) }
        for (ref, start, count) in history {
            var w = ByteWriter(capacity: 8)
            w.write(ref)
            w.write(UInt32(count))
            try w.bytes.withUnsafeBytes(sink)
            for b in historyBalances.buffer[start..<start + count] {
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
}

extension Ledger {
    /// Maps (page-faults) the memory the next snapshot will copy accounts into, so that even
    /// the first snapshot's pause is only a memory copy. Call at start-up or when idle.
    public func prepareSnapshotMemory() {
        snapshotBuffers.give(snapshotBuffers.take(bytes: max(accounts.count, 1) * MemoryLayout<Account>.stride))
        statusBuffers.give(statusBuffers.take(bytes: max(pendingStatuses.count, 1)))
        var historyEntries = 0
        for ref in historyAccountRefs { historyEntries += histories[Int(ref)].count }
        historyBuffers.give(historyBuffers.take(bytes: max(historyEntries, 1) * MemoryLayout<AccountBalance>.stride))
    }

    /// Captures the state for a snapshot (see `LedgerSnapshot`). Costs O(accounts + transfers
    /// bytes of pending status), not O(transfer records).
    public func snapshot() -> LedgerSnapshot { LedgerSnapshot(self) }

    /// Rebuilds a ledger from snapshot bytes, checking them as it goes: counts within
    /// bounds, unique ids, every transfer's accounts present, timestamps increasing.
    /// - Parameter memoryProvisioner: as for `init(expectedAccounts:expectedTransfers:hashSeed:memoryProvisioner:)`.
    public convenience init<Source: SnapshotReader>(
        snapshot source: inout Source, hashSeed: UInt64 = 0x4B41_4D49_4E4F,
        memoryProvisioner: (any MemoryProvisioning)? = nil
    ) throws {
        func fail(_ why: String) -> LedgerError { LedgerError(.snapshotInvalid, why) }
        var headerBytes = [UInt8](repeating: 0, count: 56)
        try headerBytes.withUnsafeMutableBytes { try source.read(into: $0) }
        let (magic, version, lastTimestamp, accountCount, transferCount, orphanCount, historyCount):
            (UInt64, UInt32, UInt64, UInt64, UInt64, UInt64, UInt64) = try headerBytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                let m: UInt64 = try r.read()
                let v: UInt32 = try r.read()
                _ = try r.read(UInt32.self)
                return (m, v, try r.read(), try r.read(), try r.read(), try r.read(), try r.read())
            }
        guard magic == LedgerSnapshot.magic else { throw fail("not a Kamino snapshot (magic)") }
        guard version == LedgerSnapshot.version else { throw fail("snapshot format version \(version) is not supported") }
        guard accountCount <= UInt64(Ledger.refMax), transferCount <= UInt64(Ledger.refMax),
            orphanCount <= UInt64(Ledger.refMax), historyCount <= accountCount
        else { throw fail("counts out of range") }

        self.init(
            expectedAccounts: Int(accountCount), expectedTransfers: Int(transferCount + orphanCount), hashSeed: hashSeed,
            memoryProvisioner: memoryProvisioner)
        self.lastTimestamp = lastTimestamp

        var account = Account(id: 0, ledger: 0, code: 0)
        for _ in 0..<accountCount {
            try withUnsafeMutableBytes(of: &account) { try source.read(into: $0) }
            guard account.id != 0, account.id != .max else { throw fail("account id 0 or max") }
            if let last = accounts.last, account.timestamp <= last.timestamp { throw fail("account timestamps not increasing") }
            guard accountRef(account.id) == nil else { throw fail("duplicate account id \(account.id)") }
            accountIndex.insertNew(account.id, ref: UInt32(accounts.count))
            if account.flags.contains(.history) { historyAccountRefs.append(UInt32(accounts.count)) }
            accounts.append(account)
            transferLists.append(TransferList())
            histories.append(GrowableBuffer())
        }

        // Transfers are read in blocks: a snapshot can hold hundreds of millions.
        var block = [Transfer](repeating: Transfer(id: 0), count: 8192)
        var blockStart = 0
        for ref in 0..<Int(transferCount) {
            if ref == blockStart + block.count || ref == 0 {
                blockStart = ref
                let n = min(block.count, Int(transferCount) - ref)
                try block.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n * 128])) }
            }
            let transfer = block[ref - blockStart]
            guard transfer.id != 0, transfer.id != .max else { throw fail("transfer id 0 or max") }
            if let last = transfers.last, transfer.timestamp <= last.timestamp { throw fail("transfer timestamps not increasing") }
            guard transferRef(transfer.id) == nil else { throw fail("duplicate transfer id \(transfer.id)") }
            guard let dr = accountRef(transfer.debitAccountId), let cr = accountRef(transfer.creditAccountId) else {
                throw fail("transfer \(transfer.id) names a missing account")
            }
            transferIndex.insertNew(transfer.id, ref: UInt32(ref))
            transfers.append(transfer)
            transferLists.pointer(at: dr).pointee.append(UInt32(ref))
            transferLists.pointer(at: cr).pointee.append(UInt32(ref))
        }

        var status: UInt8 = 0
        for ref in 0..<Int(transferCount) {
            try withUnsafeMutableBytes(of: &status) { try source.read(into: $0) }
            guard let s = PendingStatus(rawValue: status) else { throw fail("bad pending status \(status)") }
            let t = transfers[ref]
            guard (s == .none) == !t.flags.contains(.pending) else { throw fail("pending status of \(t.id) does not match its flags") }
            pendingStatuses.append(status)
            if s == .pending, t.timeout > 0 {
                let (expiresAt, overflow) = t.timestamp.addingReportingOverflow(t.timeoutNanoseconds)
                guard !overflow, expiresAt <= LedgerLimits.timestampMax else { throw fail("timeout of \(t.id) overflows") }
                expiry.push(ExpiryQueue.Entry(expiresAt: expiresAt, ref: UInt32(ref)))
            }
        }

        try verifyBalancesMatchTransfers()

        var orphan: UInt128 = 0
        for _ in 0..<orphanCount {
            try withUnsafeMutableBytes(of: &orphan) { try source.read(into: $0) }
            orphan = UInt128(littleEndian: orphan)
            guard transferIndex.find(orphan, in: transferIds).ref == nil else { throw fail("duplicate failed id") }
            transferIndex.insertNew(orphan, ref: Ledger.orphanBit | UInt32(orphanIds.count))
            orphanIds.append(orphan)
        }

        var entry = [UInt8](repeating: 0, count: 72)
        for _ in 0..<historyCount {
            var head = [UInt8](repeating: 0, count: 8)
            try head.withUnsafeMutableBytes { try source.read(into: $0) }
            let (ref, count): (UInt32, UInt32) = try head.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                return (try r.read(), try r.read())
            }
            guard Int(ref) < accounts.count, accounts[Int(ref)].flags.contains(.history),
                Int(count) == transferLists[Int(ref)].count
            else { throw fail("history list does not match account \(ref)") }
            for _ in 0..<count {
                try entry.withUnsafeMutableBytes { try source.read(into: $0) }
                let balance: AccountBalance = try entry.withUnsafeBytes { raw in
                    var r = ByteReader(raw)
                    return AccountBalance(
                        debitsPending: try r.readU128(), debitsPosted: try r.readU128(),
                        creditsPending: try r.readU128(), creditsPosted: try r.readU128(), timestamp: try r.read())
                }
                histories.pointer(at: Int(ref)).pointee.append(balance)
            }
        }
        for ref in 0..<accounts.count where accounts[ref].flags.contains(.history) {
            guard histories[ref].count == transferLists[ref].count else {
                throw fail("history of account \(accounts[ref].id) is missing")
            }
        }
    }

    /// Recomputes every account's four balances from the stored transfers (with overflow
    /// checks) and requires them equal to the stored ones, and pending + posted to fit in
    /// u128. A checksum only proves the file is what was written; this proves the state is
    /// one that transfers can produce, so no later post, void or expiry can overflow.
    private func verifyBalancesMatchTransfers() throws {
        func fail(_ why: String) -> LedgerError { LedgerError(.snapshotInvalid, why) }
        var sums = [UInt128](repeating: 0, count: accounts.count * 4)  // dp, dP, cp, cP
        func add(_ account: Int, _ field: Int, _ amount: UInt128) throws {
            let (sum, overflow) = sums[account * 4 + field].addingReportingOverflow(amount)
            guard !overflow else { throw fail("balances of account \(accounts[account].id) overflow") }
            sums[account * 4 + field] = sum
        }
        for ref in 0..<transfers.count {
            let t = transfers[ref]
            guard let dr = accountRef(t.debitAccountId), let cr = accountRef(t.creditAccountId) else {
                throw fail("transfer \(t.id) names a missing account")
            }
            if t.flags.contains(.pending) {
                if pendingStatuses[ref] == PendingStatus.pending.rawValue {
                    try add(dr, 0, t.amount)
                    try add(cr, 2, t.amount)
                }
            } else if !t.flags.contains(.voidPendingTransfer) {
                try add(dr, 1, t.amount)
                try add(cr, 3, t.amount)
            }
        }
        for ref in 0..<accounts.count {
            let a = accounts[ref]
            guard a.debitsPending == sums[ref * 4], a.debitsPosted == sums[ref * 4 + 1],
                a.creditsPending == sums[ref * 4 + 2], a.creditsPosted == sums[ref * 4 + 3],
                !a.debitsPending.addingReportingOverflow(a.debitsPosted).overflow,
                !a.creditsPending.addingReportingOverflow(a.creditsPosted).overflow
            else { throw fail("balances of account \(a.id) do not match its transfers") }
        }
    }
}
