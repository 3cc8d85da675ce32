import Glibc
import LedgerStorage
import Testing

@testable import LedgerCore

@Suite("Record layout")
struct LayoutTests {
    @Test("Account is 128 bytes with the reference field offsets")
    func accountLayout() {
        #expect(MemoryLayout<Account>.size == 128)
        #expect(MemoryLayout<Account>.stride == 128)
        #expect(MemoryLayout<Account>.offset(of: \.id) == 0)
        #expect(MemoryLayout<Account>.offset(of: \.debitsPending) == 16)
        #expect(MemoryLayout<Account>.offset(of: \.debitsPosted) == 32)
        #expect(MemoryLayout<Account>.offset(of: \.creditsPending) == 48)
        #expect(MemoryLayout<Account>.offset(of: \.creditsPosted) == 64)
        #expect(MemoryLayout<Account>.offset(of: \.userData128) == 80)
        #expect(MemoryLayout<Account>.offset(of: \.userData64) == 96)
        #expect(MemoryLayout<Account>.offset(of: \.userData32) == 104)
        #expect(MemoryLayout<Account>.offset(of: \.reserved) == 108)
        #expect(MemoryLayout<Account>.offset(of: \.ledger) == 112)
        #expect(MemoryLayout<Account>.offset(of: \.code) == 116)
        #expect(MemoryLayout<Account>.offset(of: \.flags) == 118)
        #expect(MemoryLayout<Account>.offset(of: \.timestamp) == 120)
    }

    @Test("Transfer is 128 bytes with the reference field offsets")
    func transferLayout() {
        #expect(MemoryLayout<Transfer>.size == 128)
        #expect(MemoryLayout<Transfer>.stride == 128)
        #expect(MemoryLayout<Transfer>.offset(of: \.id) == 0)
        #expect(MemoryLayout<Transfer>.offset(of: \.debitAccountId) == 16)
        #expect(MemoryLayout<Transfer>.offset(of: \.creditAccountId) == 32)
        #expect(MemoryLayout<Transfer>.offset(of: \.amount) == 48)
        #expect(MemoryLayout<Transfer>.offset(of: \.pendingId) == 64)
        #expect(MemoryLayout<Transfer>.offset(of: \.userData128) == 80)
        #expect(MemoryLayout<Transfer>.offset(of: \.userData64) == 96)
        #expect(MemoryLayout<Transfer>.offset(of: \.userData32) == 104)
        #expect(MemoryLayout<Transfer>.offset(of: \.timeout) == 108)
        #expect(MemoryLayout<Transfer>.offset(of: \.ledger) == 112)
        #expect(MemoryLayout<Transfer>.offset(of: \.code) == 116)
        #expect(MemoryLayout<Transfer>.offset(of: \.flags) == 118)
        #expect(MemoryLayout<Transfer>.offset(of: \.timestamp) == 120)
    }

    @Test("Flag bits and operation codes match the reference")
    func wireConstants() {
        #expect(AccountFlags.closed.rawValue == 1 << 5)
        #expect(TransferFlags.imported.rawValue == 1 << 8)
        #expect(CreateTransferStatus.created.rawValue == UInt32.max)
        #expect(CreateTransferStatus.idAlreadyFailed.rawValue == 68)
        #expect(CreateAccountStatus.importedEventTimestampMustNotRegress.rawValue == 26)
        #expect(Operation.createTransfers.rawValue == 147)
        #expect(Operation.lookupAccounts.rawValue == 140)
        // No two statuses share a wire code.
        #expect(Set(CreateTransferStatus.allCases.map(\.rawValue)).count == CreateTransferStatus.allCases.count)
        #expect(Set(CreateAccountStatus.allCases.map(\.rawValue)).count == CreateAccountStatus.allCases.count)
    }
}

@Suite("Storage structures")
struct StorageStructureTests {
    struct ArrayIds: IdSource {
        let ids: [UInt128]
        func id(at ref: UInt32) -> UInt128 { ids[Int(ref)] }
    }

    @Test("IdIndex finds every id after growth and after removals in any order")
    func idIndexGrowAndRemove() {
        var rng = SeededRandom(seed: 7)
        let ids = (0..<50_000).map { _ in UInt128(rng.next()) << 64 | UInt128(rng.next()) }
        let owner = OwnedIdIndex(seed: 42)
        defer { withExtendedLifetime(owner) {} }
        let index = owner.index
        for (ref, id) in ids.enumerated() {
            index.reserveOne()
            let probe = index.find(id, in: ArrayIds(ids: ids))
            #expect(probe.ref == nil)
            index.insert(ref: UInt32(ref), at: probe)
        }
        #expect(index.count == ids.count)
        // Remove every third id, in a scrambled order, then check all lookups.
        var removed = Set<Int>()
        for k in stride(from: 0, to: ids.count, by: 3).reversed() where k % 2 == 0 { removed.insert(k) }
        for k in stride(from: 0, to: ids.count, by: 3) where k % 2 == 1 { removed.insert(k) }
        for k in removed.sorted(by: { ($0 * 7919) % 50_021 < ($1 * 7919) % 50_021 }) {
            #expect(index.find(ids[k], in: ArrayIds(ids: ids)).ref == UInt32(k))
            index.remove(ids[k], in: ArrayIds(ids: ids))
        }
        for (ref, id) in ids.enumerated() {
            let found = index.find(id, in: ArrayIds(ids: ids)).ref
            #expect(found == (removed.contains(ref) ? nil : UInt32(ref)))
        }
        #expect(index.count == ids.count - removed.count)
    }

    @Test("IdIndex grows a step per insert: every id stays findable in each phase, removals mid-growth")
    func idIndexIncrementalGrowth() {
        var rng = SeededRandom(seed: 9)
        let ids = (0..<6_000).map { _ in UInt128(rng.next()) << 64 | UInt128(rng.next()) }
        let source = ArrayIds(ids: ids)
        let owner = OwnedIdIndex(seed: 3)
        defer { withExtendedLifetime(owner) {} }
        let index = owner.index
        var present = Set<Int>()
        var mismatches = 0
        for (ref, id) in ids.enumerated() {
            index.reserveOne()
            let probe = index.find(id, in: source)
            if probe.ref != nil { mismatches += 1 }
            index.insert(ref: UInt32(ref), at: probe)
            present.insert(ref)
            // Now and then undo one (as a failed chain would), often mid-growth.
            if ref % 97 == 0, let victim = present.randomElement(using: &rng) {
                index.remove(ids[victim], in: source)
                present.remove(victim)
            }
            // Every id inserted so far, present or removed, looks right in this phase.
            if ref % 50 == 0 || ref < 300 {
                for k in 0...ref where (index.find(ids[k], in: source).ref != nil) != present.contains(k) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(index.count == present.count)
    }

    @Test("IdIndex.reserve(n) makes room for n inserts at once, from a tiny table and mid-growth")
    func idIndexBatchReserve() {
        var rng = SeededRandom(seed: 11)
        let ids = (0..<60_000).map { _ in UInt128(rng.next()) << 64 | UInt128(rng.next()) }
        let source = ArrayIds(ids: ids)
        let owner = OwnedIdIndex(seed: 5)
        defer { withExtendedLifetime(owner) {} }
        let index = owner.index
        var next = 0
        var mismatches = 0
        // Batches of every size up to the protocol's largest, inserted with no step between.
        for n in [8189, 1, 2, 700, 8189, 3, 8189, 5000, 8189, 8189, 8189, 50] where next + n <= ids.count {
            index.reserve(n)
            for ref in next..<next + n {
                let probe = index.find(ids[ref], in: source)
                if probe.ref != nil { mismatches += 1 }
                index.insert(ref: UInt32(ref), at: probe)
            }
            next += n
            for k in 0..<next where index.find(ids[k], in: source).ref != UInt32(k) { mismatches += 1 }
        }
        #expect(mismatches == 0)
        #expect(index.count == next)
    }

    @Test("Ledger.reserveCapacity sizes the index once; later creates give the same results and digest")
    func reserveCapacity() throws {
        let plain = Ledger()
        let sized = Ledger(memoryProvisioner: MemoryProvisioner.shared)
        let accounts = (1...50).map { Account(id: UInt128($0), ledger: 1, code: 1) }
        _ = try plain.createAccounts(accounts, timestamp: 1_000)
        _ = try sized.createAccounts(accounts, timestamp: 1_000)
        var clock: UInt64 = 1_000
        var next: UInt128 = 1 << 70
        for round in 0..<30 {
            if round == 10 { sized.reserveCapacity(transfers: 200_000) }  // with ids already indexed
            let batch = (0..<4_000).map { k -> Transfer in
                next += 1
                // A few repeats of earlier ids (exists) among fresh ones.
                let id = k % 97 == 0 ? next - 3_000 : next
                return Transfer(id: id, debitAccountId: UInt128(1 + k % 50), creditAccountId: UInt128(1 + (k + 7) % 50),
                                amount: UInt128(k), ledger: 1, code: 1)
            }
            clock += 10_000
            let a = try plain.createTransfers(batch, timestamp: clock)
            let b = try sized.createTransfers(batch, timestamp: clock)
            #expect(a == b)
        }
        #expect(plain.digest() == sized.digest())
        #expect(sized.memoryUsage.transferIndex >= 200_000 * 8 * 8 / 5)
    }

    @Test("TransferList is two cache lines; refs stay in order across spills, removals and writes")
    func transferList() {
        #expect(MemoryLayout<TransferList>.size == 128)
        #expect(MemoryLayout<TransferList>.stride == 128)
        var list = TransferList()
        defer { list.deallocate() }
        var model: [UInt32] = []
        var rng = SeededRandom(seed: 13)
        for step in 0..<20_000 {
            if rng.next() % 5 == 0, !model.isEmpty {
                list.removeLast()
                model.removeLast()
            } else {
                list.append(UInt32(step))
                model.append(UInt32(step))
            }
            if step % 1000 == 999 {
                // Rewrite a few entries on either side of the inline boundary.
                for i in max(0, model.count - 20)..<model.count {
                    list[i] = model[i] &* 3
                    model[i] = model[i] &* 3
                }
            }
        }
        #expect(list.count == model.count)
        #expect((0..<model.count).allSatisfy { list[$0] == model[$0] })
    }

    /// Appends 40,000 transfers (three chunks of 16,384 and a spare) and checks each is kept.
    private func appendFortyThousand(to store: ChunkedStore<Transfer>) {
        for i in 0..<40_000 { store.append(Transfer(id: UInt128(i + 1), amount: UInt128(i))) }
        #expect(store.count == 40_000)
        #expect(store.enumerated().allSatisfy { $0.element.id == UInt128($0.offset + 1) && $0.element.amount == UInt128($0.offset) })
        #expect(store.memoryBytes == 4 * 16_384 * 128)  // three chunks in use and the spare
    }

    @Test("A store that prefaults its next chunk keeps every record, and withdraws every chunk before freeing it")
    func prefaultingStore() {
        let provisioner = RecordingProvisioner()
        let owner = OwnedChunkedStore<Transfer>(provisioner: provisioner)
        appendFortyThousand(to: owner.store)
        #expect(provisioner.requests == 3)  // a spare after each new chunk
        _ = consume owner  // frees the store: it withdraws every chunk first
        #expect(provisioner.outstanding.isEmpty)
    }

    @Test("A store takes its next chunk from the provisioner's stock when one is ready, and maps none itself")
    func storeTakesStockedChunks() {
        let provisioner = RecordingProvisioner()
        provisioner.handsBlocks = true
        let owner = OwnedChunkedStore<Transfer>(provisioner: provisioner)
        appendFortyThousand(to: owner.store)
        #expect(provisioner.blocksHanded == 3)  // every spare from the stock
        #expect(provisioner.requests == 0)  // none allocated here and faulted in afterwards
        _ = consume owner
        #expect(provisioner.outstanding.isEmpty)
    }

    @Test("A grown index hands its old tables to the provisioner to free, each withdrawn first")
    func indexFreesOldTablesThroughTheProvisioner() {
        let provisioner = RecordingProvisioner()
        provisioner.handsBlocks = true
        let owner = OwnedIdIndex(seed: 11, provisioner: provisioner)
        let index = owner.index
        let ids = (0..<200_000).map { UInt128($0) &* 0x9E37_79B9_7F4A_7C15 + 3 }
        for k in ids.indices { index.insertNew(ids[k], ref: UInt32(k)) }
        #expect(ids.indices.allSatisfy { index.find(ids[$0], in: ArrayIds(ids: ids)).ref == UInt32($0) })
        let grownFrees = provisioner.freed.count
        #expect(grownFrees >= 2)  // the tables replaced by growth (at least the 1 MiB and 2 MiB ones)
        _ = consume owner
        #expect(provisioner.freed.count == grownFrees + 1)  // and the last one with the index
        #expect(provisioner.freed.allSatisfy { !$0.stillRequested })
        #expect(provisioner.outstanding.isEmpty)
    }

    @Test("A growing index has each bigger table faulted in and withdraws it before freeing it")
    func prefaultingIndex() {
        let provisioner = RecordingProvisioner()
        let owner = OwnedIdIndex(seed: 7, provisioner: provisioner)
        let index = owner.index
        let ids = (0..<200_000).map { UInt128($0) &* 0x9E37_79B9_7F4A_7C15 + 1 }
        for k in ids.indices { index.insertNew(ids[k], ref: UInt32(k)) }
        #expect(provisioner.requests == 2)  // the 2 MiB and the 4 MiB tables
        #expect(ids.indices.allSatisfy { index.find(ids[$0], in: ArrayIds(ids: ids)).ref == UInt32($0) })
        _ = consume owner  // frees the index: it withdraws every table first
        #expect(provisioner.outstanding.isEmpty)
    }

    @Test("The next table is handed to the provisioner at 1/2 load, and growth at 5/8 load uses it")
    func indexPreparesTheNextTableEarly() {
        let provisioner = RecordingProvisioner()
        let owner = OwnedIdIndex(seed: 9, provisioner: provisioner)
        let index = owner.index
        // 2^17 slots (1 MiB): its next table (2 MiB) is the first one worth faulting ahead.
        let ids = (0..<90_000).map { UInt128($0) &* 0xC2B2_AE3D_27D4_EB4F + 5 }
        for k in 0..<(1 << 16) { index.insertNew(ids[k], ref: UInt32(k)) }
        #expect(provisioner.requests == 0)  // exactly 1/2 load of 2^17 slots
        index.insertNew(ids[1 << 16], ref: UInt32(1 << 16))
        #expect(provisioner.requests == 1)
        #expect(provisioner.outstanding.map(\.bytes) == [2 << 20])
        #expect(index.memoryBytes == (1 << 17) * 8 + (2 << 20))
        for k in ((1 << 16) + 1)..<ids.count { index.insertNew(ids[k], ref: UInt32(k)) }  // past 5/8: growth
        #expect(provisioner.requests == 1)  // the prepared table, not another
        #expect(ids.indices.allSatisfy { index.find(ids[$0], in: ArrayIds(ids: ids)).ref == UInt32($0) })
        index.reserve(60_000)  // from 90,000 past 1/2 of 2^18 slots: the next one is prepared
        #expect(provisioner.requests == 2)
        _ = consume owner  // frees the index and the prepared table, each withdrawn first
        #expect(provisioner.outstanding.isEmpty)
    }

    @Test("ChunkedStore keeps records across chunk boundaries and after removeLast")
    func chunkedStore() {
        let owner = OwnedChunkedStore<UInt64>()
        defer { withExtendedLifetime(owner) {} }
        let store = owner.store
        for i in 0..<40_000 { store.append(UInt64(i) * 3) }
        for _ in 0..<20_000 { store.removeLast() }
        for i in 20_000..<50_000 { store.append(UInt64(i) * 3) }
        #expect(store.count == 50_000)
        #expect(store.enumerated().allSatisfy { $0.element == UInt64($0.offset) * 3 })
        var total = 0
        store.forEachRun(in: 100..<49_000) { total += $0.count }
        #expect(total == 48_900)
    }
}

@Suite struct RecordCodecCopyTests {
    @Test("Encoding by copy equals the field-by-field canonical encoding, and decodes back")
    func copyEncodingIsCanonical() throws {
        var rng = SeededRandom(seed: 42)
        func u128() -> UInt128 { UInt128(rng.next()) << 64 | UInt128(rng.next()) }
        let transfers = (0..<300).map { _ in
            Transfer(id: u128(), debitAccountId: u128(), creditAccountId: u128(), amount: u128(), pendingId: u128(),
                     userData128: u128(), userData64: rng.next(), userData32: UInt32(truncatingIfNeeded: rng.next()),
                     timeout: UInt32(truncatingIfNeeded: rng.next()), ledger: UInt32(truncatingIfNeeded: rng.next()),
                     code: UInt16(truncatingIfNeeded: rng.next()), flags: TransferFlags(rawValue: UInt16(truncatingIfNeeded: rng.next())),
                     timestamp: rng.next())
        }
        let accounts = (0..<300).map { _ in
            Account(id: u128(), debitsPending: u128(), debitsPosted: u128(), creditsPending: u128(), creditsPosted: u128(),
                    userData128: u128(), userData64: rng.next(), userData32: UInt32(truncatingIfNeeded: rng.next()),
                    reserved: UInt32(truncatingIfNeeded: rng.next()), ledger: UInt32(truncatingIfNeeded: rng.next()),
                    code: UInt16(truncatingIfNeeded: rng.next()), flags: AccountFlags(rawValue: UInt16(truncatingIfNeeded: rng.next())),
                    timestamp: rng.next())
        }
        #expect(RecordCodec.encodeTransfers(transfers) == RecordCodec.encodeFieldByField(transfers))
        #expect(RecordCodec.encodeAccounts(accounts) == RecordCodec.encodeFieldByField(accounts))
        #expect(try RecordCodec.encodeTransfers(transfers).withUnsafeBytes { try RecordCodec.decodeTransfers($0) } == transfers)
        #expect(RecordCodec.encodeTransfers([]).isEmpty)
    }

    @Test("Decoding copies a body at any alignment, one by one up to 64 records and in one pass above", arguments: [0, 1, 63, 64, 65, 300])
    func decodeAtAnyAlignment(count: Int) throws {
        var rng = SeededRandom(seed: UInt64(count) + 7)
        func u128() -> UInt128 { UInt128(rng.next()) << 64 | UInt128(rng.next()) }
        let transfers = (0..<count).map { _ in
            Transfer(id: u128(), debitAccountId: u128(), creditAccountId: u128(), amount: u128(), pendingId: u128(),
                     userData128: u128(), userData64: rng.next(), userData32: UInt32(truncatingIfNeeded: rng.next()),
                     timeout: 7, ledger: 1, code: 2, flags: TransferFlags(rawValue: 0), timestamp: rng.next())
        }
        let accounts = transfers.map { Account(id: $0.id, userData128: $0.amount, ledger: 3, code: 4) }
        let transferBody = RecordCodec.encodeFieldByField(transfers)
        let accountBody = RecordCodec.encodeFieldByField(accounts)
        for offset in [0, 1, 8, 15] {
            // The body at `offset` bytes into a buffer: a request body is not 16-byte aligned.
            let padded = [UInt8](repeating: 0xAB, count: offset) + transferBody
            #expect(try padded.withUnsafeBytes { try RecordCodec.decodeTransfers(UnsafeRawBufferPointer(rebasing: $0[offset...])) } == transfers)
            let paddedAccounts = [UInt8](repeating: 0xCD, count: offset) + accountBody
            #expect(try paddedAccounts.withUnsafeBytes { try RecordCodec.decodeAccounts(UnsafeRawBufferPointer(rebasing: $0[offset...])) } == accounts)
        }
        if count > 0 {
            // A partial record is refused, not copied.
            #expect(throws: CodecError.self) { try transferBody.withUnsafeBytes { try RecordCodec.decodeTransfers(UnsafeRawBufferPointer(rebasing: $0.dropLast())) } }
        }
    }
}

/// Records what a store asks of its provisioner, without faulting anything in: every block
/// it was asked to populate must be withdrawn (`cancel`) before it is freed.
final class RecordingProvisioner: MemoryProvisioning, @unchecked Sendable {
    // @unchecked: used by one test's thread only.
    private(set) var requests = 0
    private(set) var outstanding: [(start: UnsafeMutableRawPointer, bytes: Int)] = []
    /// Hand out blocks (`takeBlock`) and take blocks to free (`free`), as the process's
    /// provisioner does; off: neither, as a provisioner without a stock.
    var handsBlocks = false
    private(set) var blocksHanded = 0
    /// Blocks handed over to be freed, with whether a populate request still covered them.
    private(set) var freed: [(bytes: Int, stillRequested: Bool)] = []

    func takeBlock(bytes: Int) -> UnsafeMutableRawPointer? {
        guard handsBlocks else { return nil }
        blocksHanded += 1
        return UnsafeMutableRawPointer(LargeAllocation.allocate(UInt8.self, count: bytes))
    }

    func free(_ block: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        guard handsBlocks else { return false }
        freed.append((bytes, outstanding.contains { $0.start < block + bytes && block < $0.start + $0.bytes }))
        LargeAllocation.deallocate(block.assumingMemoryBound(to: UInt8.self), count: bytes)
        return true
    }

    func populate(_ start: UnsafeMutableRawPointer, bytes: Int, urgent: Bool) -> UInt64 {
        requests += 1
        outstanding.append((start, bytes))
        return urgent ? 0 : UInt64(requests)
    }

    func isDone(_ ticket: UInt64) -> Bool { true }

    func cancel(_ start: UnsafeMutableRawPointer, bytes: Int) {
        outstanding.removeAll { $0.start >= start && $0.start + $0.bytes <= start + bytes }
    }
}
