import Testing

@testable import LedgerCore

/// Reads snapshot bytes from memory.
struct BytesSource: SnapshotReader {
    let bytes: [UInt8]
    var offset = 0
    struct Ended: Error {}
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard bytes.count - offset >= buffer.count else { throw Ended() }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        offset += buffer.count
    }
}

func snapshotBytes(_ ledger: Ledger) -> [UInt8] {
    var out: [UInt8] = []
    ledger.snapshot().write { out.append(contentsOf: $0) }
    return out
}

@Suite("Snapshots of the ledger state")
struct SnapshotTests {
    /// Builds a ledger with varied traffic; returns it with the generator and clock to go on.
    func busyLedger(seed: UInt64) throws -> (Ledger, TrafficGenerator, UInt64) {
        var gen = TrafficGenerator(seed: seed)
        let ledger = Ledger()
        var clock: UInt64 = 1_000_000_000_000
        _ = try ledger.createAccounts(gen.accounts(count: 200), timestamp: clock)
        for _ in 0..<60 {
            clock += 10_000_000 + gen.rng.next() % 1_500_000_000
            _ = try ledger.createTransfers(gen.transferBatch(size: 300), timestamp: clock)
        }
        return (ledger, gen, clock)
    }

    @Test("A reloaded snapshot equals the original and evolves identically")
    func roundTrip() throws {
        var (ledger, gen, clock) = try busyLedger(seed: 11)
        let bytes = snapshotBytes(ledger)
        var source = BytesSource(bytes: bytes)
        let loaded = try Ledger(snapshot: &source, hashSeed: 99)
        #expect(source.offset == bytes.count)
        #expect(loaded.digest() == ledger.digest())
        #expect(loaded.accountCount == ledger.accountCount && loaded.transferCount == ledger.transferCount)

        // Same further inputs (including expiries, posts of old pending transfers and
        // duplicates of old ids) give the same results and the same state.
        for _ in 0..<40 {
            clock += 10_000_000 + gen.rng.next() % 1_500_000_000
            let batch = gen.transferBatch(size: 200)
            let a = try ledger.createTransfers(batch, timestamp: clock)
            let b = try loaded.createTransfers(batch, timestamp: clock)
            #expect(a == b)
        }
        #expect(loaded.digest() == ledger.digest())
        for id in ledger.accounts.prefix(50).map(\.id) {
            let filter = AccountFilter(accountId: id, limit: 8189)
            #expect(loaded.getAccountTransfers(filter) == ledger.getAccountTransfers(filter))
            #expect(loaded.getAccountBalances(filter) == ledger.getAccountBalances(filter))
        }
    }

    @Test("A snapshot stays consistent while the ledger goes on")
    func captureIsStable() throws {
        var (ledger, gen, clock) = try busyLedger(seed: 12)
        let snapshot = ledger.snapshot()
        let digestAtCapture = ledger.digest()
        for _ in 0..<30 {
            clock += 1_000_000_000
            _ = try ledger.createTransfers(gen.transferBatch(size: 500), timestamp: clock)
        }
        var out: [UInt8] = []
        snapshot.write { out.append(contentsOf: $0) }
        var source = BytesSource(bytes: out)
        #expect(try Ledger(snapshot: &source).digest() == digestAtCapture)
    }

    @Test("Truncated or damaged snapshots are refused, never half-loaded")
    func damaged() throws {
        let (ledger, _, _) = try busyLedger(seed: 13)
        let bytes = snapshotBytes(ledger)
        var rng = SeededRandom(seed: 5)
        for _ in 0..<40 {
            let cut = Int(rng.next() % UInt64(bytes.count))
            var source = BytesSource(bytes: Array(bytes[..<cut]))
            #expect(throws: (any Error).self) { _ = try Ledger(snapshot: &source) }
        }
        var badMagic = bytes
        badMagic[0] ^= 0xFF
        var source = BytesSource(bytes: badMagic)
        #expect(throws: LedgerError.self) { _ = try Ledger(snapshot: &source) }
        // A well-formed file whose balances do not follow from its transfers is refused:
        // otherwise a later post, void or expiry could overflow.
        var tampered = bytes
        tampered[56 + 32] ^= 0x01  // first account's debits_posted
        source = BytesSource(bytes: tampered)
        #expect(throws: LedgerError.self) { _ = try Ledger(snapshot: &source) }
        // A huge account count in the header must be refused before allocating.
        var hugeCount = bytes
        for i in 24..<32 { hugeCount[i] = 0xFF }
        source = BytesSource(bytes: hugeCount)
        #expect(throws: LedgerError.self) { _ = try Ledger(snapshot: &source) }
    }
}
