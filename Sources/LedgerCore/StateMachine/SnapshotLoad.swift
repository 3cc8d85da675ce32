/// The bytes of one snapshot section: in place in the reader's memory (a mapped file), or
/// read into a block owned here and freed with it.
private final class SectionBytes {
    let bytes: UnsafeRawBufferPointer
    private let owned: UnsafeMutableRawBufferPointer?

    init<Source: SnapshotReader>(_ source: inout Source, count: Int) throws {
        precondition(count >= 0, "negative section size")
        if let view = try source.next(inPlace: count) {
            precondition(view.count == count, "a reader handed out a view of another size")
            bytes = view
            owned = nil
        } else {
            let block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            do {
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: block[0..<count]))
            } catch {
                block.deallocate()
                throw error
            }
            bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(block)[0..<count])
            owned = block
        }
    }

    deinit { owned?.deallocate() }

    /// The record of type `T` at `index` (records of `stride` bytes; any alignment).
    @inline(__always)
    func load<T: BitwiseCopyable>(_ index: Int, stride: Int, as: T.Type) -> T {
        bytes.loadUnaligned(fromByteOffset: index * stride, as: T.self)
    }
}

/// What the loader's checking thread found about the transfers: the first failure, or the
/// expiries of the pending transfers with a timeout, in ref order.
private struct LinkOutcome {
    var failure: LedgerError?
    var expiries: [ExpiryQueue.Entry] = []
}

extension Ledger {
    /// Rebuilds a ledger from snapshot bytes, checking them as it goes: counts within
    /// bounds, unique ids, every transfer's accounts present, timestamps increasing,
    /// statuses matching flags, and every balance equal to what the transfers add up to.
    ///
    /// Built for speed (a restart loads it): each section is read once, in place when the
    /// reader maps the file; the transfers are copied into their store on two threads, then
    /// one thread builds the id index (prefetching slots ahead) and checks statuses and
    /// balances while the other links the transfers to their accounts' lists.
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
            orphanCount <= UInt64(Ledger.refMax), transferCount + orphanCount <= UInt64(Ledger.refMax),
            historyCount <= accountCount
        else { throw fail("counts out of range") }

        self.init(
            expectedAccounts: Int(accountCount), expectedTransfers: Int(transferCount + orphanCount), hashSeed: hashSeed,
            memoryProvisioner: memoryProvisioner)
        self.lastTimestamp = lastTimestamp

        let accountBytes = try SectionBytes(&source, count: Int(accountCount) * MemoryLayout<Account>.stride)
        try loadAccounts(accountBytes, count: Int(accountCount))
        let transferBytes = try SectionBytes(&source, count: Int(transferCount) * MemoryLayout<Transfer>.stride)
        let statusBytes = try SectionBytes(&source, count: Int(transferCount))
        try loadTransfers(transferBytes, statuses: statusBytes, count: Int(transferCount))

        let orphanBytes = try SectionBytes(&source, count: Int(orphanCount) * 16)
        for i in 0..<Int(orphanCount) {
            let orphan = UInt128(littleEndian: orphanBytes.load(i, stride: 16, as: UInt128.self))
            guard transferIndex.find(orphan, in: transferIds).ref == nil else { throw fail("duplicate failed id") }
            transferIndex.insertNew(orphan, ref: Ledger.orphanBit | UInt32(orphanIds.count))
            orphanIds.append(orphan)
        }

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
            let entries = try SectionBytes(&source, count: Int(count) * 72)
            let list = histories.pointer(at: Int(ref))
            for k in 0..<Int(count) {
                let at = k * 72
                let raw = entries.bytes
                list.pointee.append(AccountBalance(
                    debitsPending: UInt128(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt128.self)),
                    debitsPosted: UInt128(littleEndian: raw.loadUnaligned(fromByteOffset: at + 16, as: UInt128.self)),
                    creditsPending: UInt128(littleEndian: raw.loadUnaligned(fromByteOffset: at + 32, as: UInt128.self)),
                    creditsPosted: UInt128(littleEndian: raw.loadUnaligned(fromByteOffset: at + 48, as: UInt128.self)),
                    timestamp: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 64, as: UInt64.self))))
            }
        }
        for ref in 0..<accounts.count where accounts[ref].flags.contains(.history) {
            guard histories[ref].count == transferLists[ref].count else {
                throw fail("history of account \(accounts[ref].id) is missing")
            }
        }
    }

    /// The accounts section: ids valid and unique, timestamps increasing.
    private func loadAccounts(_ bytes: SectionBytes, count: Int) throws {
        func fail(_ why: String) -> LedgerError { LedgerError(.snapshotInvalid, why) }
        for i in 0..<count {
            let account = bytes.load(i, stride: MemoryLayout<Account>.stride, as: Account.self)
            guard account.id != 0, account.id != .max else { throw fail("account id 0 or max") }
            if let last = accounts.last, account.timestamp <= last.timestamp { throw fail("account timestamps not increasing") }
            guard accountRef(account.id) == nil else { throw fail("duplicate account id \(account.id)") }
            accountIndex.insertNew(account.id, ref: UInt32(accounts.count))
            if account.flags.contains(.history) { historyAccountRefs.append(UInt32(accounts.count)) }
            accounts.append(account)
            transferLists.append(TransferList())
            histories.append(GrowableBuffer())
        }
    }

    /// The transfers and their pending statuses, on two threads: copied into the store
    /// (half each), then the id index on one and the account links on the other.
    private func loadTransfers(_ bytes: SectionBytes, statuses: SectionBytes, count n: Int) throws {
        let stride = MemoryLayout<Transfer>.stride
        let range = transfers.appendUninitialized(n)
        assert(range == 0..<n, "transfers load into an empty store")
        let half = n / 2
        let store = transfers
        ParallelPair.run({
            store.fill(at: 0, from: UnsafeRawBufferPointer(rebasing: bytes.bytes[0..<half * stride]))
        }, {
            store.fill(at: half, from: UnsafeRawBufferPointer(rebasing: bytes.bytes[half * stride..<n * stride]))
        })
        let statusRange = pendingStatuses.appendUninitialized(n)
        assert(statusRange == 0..<n, "statuses load into an empty store")
        pendingStatuses.fill(at: 0, from: statuses.bytes)

        var checked = LinkOutcome()
        var listFailure: LedgerError?
        ParallelPair.run({ checked = self.indexLoadedTransfers(count: n) }, { listFailure = self.listLoadedTransfers(count: n) })
        if let failure = checked.failure { throw failure }
        if let listFailure { throw listFailure }
        for entry in checked.expiries { expiry.push(entry) }
    }

    /// Checks the transfers (ids, timestamps, pending statuses against flags) and builds
    /// their id index (one probe per id, its home slot prefetched a few transfers ahead),
    /// collects expiries, and requires every account's balances to equal what the
    /// transfers add up to (with overflow checks; pending + posted must fit in u128): a
    /// checksum only proves the file is what was written, this proves the state is one
    /// that transfers can produce, so no later post, void or expiry can overflow. Touches
    /// only the transfer index; reads the account index.
    private func indexLoadedTransfers(count n: Int) -> LinkOutcome {
        func fail(_ why: String) -> LinkOutcome { LinkOutcome(failure: LedgerError(.snapshotInvalid, why)) }
        let index = transferIndex
        let store = transfers
        let statuses = pendingStatuses
        let ids = transferIds
        index.ensureCapacity(n)
        var outcome = LinkOutcome()
        var sums = [UInt128](repeating: 0, count: accounts.count * 4)  // dp, dP, cp, cP
        var overflowed: Int?
        func add(_ account: Int, _ field: Int, _ amount: UInt128) {
            let (sum, overflow) = sums[account * 4 + field].addingReportingOverflow(amount)
            if overflow { overflowed = account }
            sums[account * 4 + field] = sum
        }
        let ahead = 16
        var lastTimestamp: UInt64 = 0
        for ref in 0..<min(ahead, n) { index.prefetch(tag: index.tag(store[ref].id)) }
        for ref in 0..<n {
            if ref + ahead < n { index.prefetch(tag: index.tag(store[ref + ahead].id)) }
            let t = store.pointer(at: ref)
            let id = t.pointee.id
            guard id != 0, id != .max else { return fail("transfer id 0 or max") }
            guard t.pointee.timestamp > lastTimestamp else { return fail("transfer timestamps not increasing") }
            lastTimestamp = t.pointee.timestamp
            let probe = index.find(id, in: ids)
            guard probe.ref == nil else { return fail("duplicate transfer id \(id)") }
            index.insert(ref: UInt32(ref), at: probe)

            let raw = statuses[ref]
            guard let status = PendingStatus(rawValue: raw) else { return fail("bad pending status \(raw)") }
            let flags = t.pointee.flags
            guard (status == .none) == !flags.contains(.pending) else {
                return fail("pending status of \(id) does not match its flags")
            }
            let posts = !flags.contains(.pending) && !flags.contains(.voidPendingTransfer)
            guard status == .pending || posts else { continue }
            guard let dr = accountRef(t.pointee.debitAccountId), let cr = accountRef(t.pointee.creditAccountId) else {
                return fail("transfer \(id) names a missing account")
            }
            if posts {
                add(dr, 1, t.pointee.amount)
                add(cr, 3, t.pointee.amount)
            } else {
                add(dr, 0, t.pointee.amount)
                add(cr, 2, t.pointee.amount)
                if t.pointee.timeout > 0 {
                    let (expiresAt, overflow) = t.pointee.timestamp.addingReportingOverflow(t.pointee.timeoutNanoseconds)
                    guard !overflow, expiresAt <= LedgerLimits.timestampMax else { return fail("timeout of \(id) overflows") }
                    outcome.expiries.append(ExpiryQueue.Entry(expiresAt: expiresAt, ref: UInt32(ref)))
                }
            }
            if let account = overflowed { return fail("balances of account \(accounts[account].id) overflow") }
        }
        for ref in 0..<accounts.count {
            let a = accounts[ref]
            guard a.debitsPending == sums[ref * 4], a.debitsPosted == sums[ref * 4 + 1],
                a.creditsPending == sums[ref * 4 + 2], a.creditsPosted == sums[ref * 4 + 3],
                !a.debitsPending.addingReportingOverflow(a.debitsPosted).overflow,
                !a.creditsPending.addingReportingOverflow(a.creditsPosted).overflow
            else { return fail("balances of account \(a.id) do not match its transfers") }
        }
        return outcome
    }

    /// Links each transfer to its two accounts' lists (both must exist). Touches only the
    /// lists; reads the account index.
    private func listLoadedTransfers(count n: Int) -> LedgerError? {
        let store = transfers
        let lists = transferLists
        for ref in 0..<n {
            let t = store.pointer(at: ref)
            guard let dr = accountRef(t.pointee.debitAccountId), let cr = accountRef(t.pointee.creditAccountId) else {
                return LedgerError(.snapshotInvalid, "transfer \(t.pointee.id) names a missing account")
            }
            lists.pointer(at: dr).pointee.append(UInt32(ref))
            lists.pointer(at: cr).pointee.append(UInt32(ref))
        }
        return nil
    }
}
