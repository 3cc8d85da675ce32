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
    let accounts: [Account]
    let transferRuns: [UnsafeBufferPointer<Transfer>]
    public let transferCount: Int
    let statuses: [UInt8]
    let orphanRuns: [UnsafeBufferPointer<UInt128>]
    let orphanCount: Int
    let history: [(ref: UInt32, balances: [AccountBalance])]

    init(_ ledger: Ledger) {
        owner = ledger
        lastTimestamp = ledger.lastTimestamp
        accounts = Array(ledger.accounts)
        let count = ledger.transfers.count
        transferCount = count
        transferRuns = ledger.transfers.frozenRuns(count: count)
        var statuses: [UInt8] = []
        statuses.reserveCapacity(count)
        ledger.pendingStatuses.forEachRun(in: 0..<count) { statuses.append(contentsOf: $0) }
        self.statuses = statuses
        orphanCount = ledger.orphanIds.count
        orphanRuns = ledger.orphanIds.frozenRuns(count: orphanCount)
        var history: [(UInt32, [AccountBalance])] = []
        for ref in 0..<ledger.accounts.count where ledger.accounts[ref].flags.contains(.history) {
            let list = ledger.accountLists[ref].history
            history.append((UInt32(ref), (0..<list.count).map { list[$0] }))
        }
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
        try accounts.withUnsafeBytes(sink)
        for run in transferRuns { try sink(UnsafeRawBufferPointer(run)) }
        try statuses.withUnsafeBytes(sink)
        for run in orphanRuns { try sink(UnsafeRawBufferPointer(run)) }
        for (ref, balances) in history {
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
}

/// Supplies a snapshot's bytes to `Ledger(snapshot:)`.
public protocol SnapshotReader {
    /// Fills `buffer` completely, or throws when the input ends first.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws
}

extension Ledger {
    /// Captures the state for a snapshot (see `LedgerSnapshot`). Costs O(accounts + transfers
    /// bytes of pending status), not O(transfer records).
    public func snapshot() -> LedgerSnapshot { LedgerSnapshot(self) }

    /// Rebuilds a ledger from snapshot bytes, checking them as it goes: counts within
    /// bounds, unique ids, every transfer's accounts present, timestamps increasing.
    public convenience init<Source: SnapshotReader>(snapshot source: inout Source, hashSeed: UInt64 = 0x4B41_4D49_4E4F) throws {
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

        self.init(expectedAccounts: Int(accountCount), expectedTransfers: Int(transferCount + orphanCount), hashSeed: hashSeed)
        self.lastTimestamp = lastTimestamp

        var account = Account(id: 0, ledger: 0, code: 0)
        for _ in 0..<accountCount {
            try withUnsafeMutableBytes(of: &account) { try source.read(into: $0) }
            guard account.id != 0, account.id != .max else { throw fail("account id 0 or max") }
            if let last = accounts.last, account.timestamp <= last.timestamp { throw fail("account timestamps not increasing") }
            guard accountRef(account.id) == nil else { throw fail("duplicate account id \(account.id)") }
            accountIndex.insertNew(account.id, ref: UInt32(accounts.count))
            accounts.append(account)
            accountLists.append(AccountLists())
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
            accountLists.pointer(at: dr).pointee.transfers.append(UInt32(ref))
            accountLists.pointer(at: cr).pointee.transfers.append(UInt32(ref))
        }

        var status: UInt8 = 0
        for ref in 0..<Int(transferCount) {
            try withUnsafeMutableBytes(of: &status) { try source.read(into: $0) }
            guard let s = PendingStatus(rawValue: status) else { throw fail("bad pending status \(status)") }
            let t = transfers[ref]
            guard (s == .none) == !t.flags.contains(.pending) else { throw fail("pending status of \(t.id) does not match its flags") }
            pendingStatuses.append(status)
            if s == .pending, t.timeout > 0 {
                expiry.push(ExpiryQueue.Entry(expiresAt: t.timestamp + t.timeoutNanoseconds, ref: UInt32(ref)))
            }
        }

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
                Int(count) == accountLists[Int(ref)].transfers.count
            else { throw fail("history list does not match account \(ref)") }
            for _ in 0..<count {
                try entry.withUnsafeMutableBytes { try source.read(into: $0) }
                let balance: AccountBalance = try entry.withUnsafeBytes { raw in
                    var r = ByteReader(raw)
                    return AccountBalance(
                        debitsPending: try r.readU128(), debitsPosted: try r.readU128(),
                        creditsPending: try r.readU128(), creditsPosted: try r.readU128(), timestamp: try r.read())
                }
                accountLists.pointer(at: Int(ref)).pointee.history.append(balance)
            }
        }
        for ref in 0..<accounts.count where accounts[ref].flags.contains(.history) {
            guard accountLists[ref].history.count == accountLists[ref].transfers.count else {
                throw fail("history of account \(accounts[ref].id) is missing")
            }
        }
    }
}
