import LedgerWorkload
import Testing

@testable import LedgerCore

/// The tests' deterministic generator (shared with the workload generators).
typealias SeededRandom = SplitMix64

/// One recorded batch, so the same inputs can be replayed on a fresh ledger.
enum RecordedBatch {
    case accounts([Account], UInt64)
    case transfers([Transfer], UInt64)
    case pulse(UInt64)
}

/// Generates random but plausible traffic: several ledgers, limit flags, history, two-phase
/// with timeouts, posts and voids of earlier pending transfers, balancing and closing
/// transfers, linked chains, duplicates and a share of invalid events.
struct TrafficGenerator {
    var rng: SeededRandom
    var accountIds: [UInt128] = []
    var ledgerOf: [UInt128: UInt32] = [:]
    var pendingIds: [UInt128] = []
    var usedTransferIds: [UInt128] = []
    var nextId: UInt128 = 1

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func freshId() -> UInt128 {
        nextId += 1
        return nextId
    }

    mutating func accounts(count: Int) -> [Account] {
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
            return Account(id: id, userData64: rng.next() % 5, ledger: ledger, code: 1, flags: flags)
        }
    }

    /// An account id of `ledger` (or any ledger), occasionally one that does not exist.
    mutating func account(ledger: UInt32? = nil) -> UInt128 {
        if rng.next() % 200 == 0 { return 999_999_999 + UInt128(rng.next() % 3) }
        for _ in 0..<8 {
            let id = accountIds[Int(rng.next() % UInt64(accountIds.count))]
            if ledger == nil || ledgerOf[id] == ledger { return id }
        }
        return accountIds[Int(rng.next() % UInt64(accountIds.count))]
    }

    mutating func amount() -> UInt128 {
        switch rng.next() % 100 {
        case 0: return 0
        case 1: return .max - UInt128(rng.next() % 1000)
        case 2...5: return UInt128(rng.next() % 1_000_000_000)
        default: return UInt128(1 + rng.next() % 1000)
        }
    }

    mutating func transfer() -> Transfer {
        var id = freshId()
        if rng.next() % 50 == 0, let reused = usedTransferIds.randomElement(using: &rng) { id = reused }
        usedTransferIds.append(id)
        let roll = rng.next() % 100
        if roll < 20, let pendingId = pendingIds.randomElement(using: &rng) {
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
        }
        if rng.next() % 25 == 0 { flags.insert(.balancingDebit) }
        if rng.next() % 25 == 0 { flags.insert(.balancingCredit) }
        if rng.next() % 150 == 0 { flags.insert(.closingDebit) }
        if rng.next() % 150 == 0 { flags.insert(.closingCredit) }
        if rng.next() % 300 == 0 { flags.insert(.postPendingTransfer) }  // invalid combination
        let ledgerField = rng.next() % 100 == 0 ? ledger + 1 : ledger
        return Transfer(
            id: id, debitAccountId: dr, creditAccountId: cr, amount: amount(),
            userData128: UInt128(rng.next() % 4), userData64: rng.next() % 4,
            timeout: timeout, ledger: ledgerField, code: UInt16(1 + rng.next() % 3), flags: flags)
    }

    mutating func transferBatch(size: Int) -> [Transfer] {
        var batch = (0..<size).map { _ in transfer() }
        // Link random runs into chains; sometimes leave the last chain open.
        var i = 0
        while i < batch.count {
            if rng.next() % 8 == 0 {
                let length = Int(1 + rng.next() % 4)
                for k in i..<min(i + length, batch.count - 1) { batch[k].flags.insert(.linked) }
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
func checkInvariants(_ ledger: Ledger) {
    var debitsPosted: [UInt32: UInt128] = [:]
    var creditsPosted: [UInt32: UInt128] = [:]
    var debitsPending: [UInt32: UInt128] = [:]
    var creditsPending: [UInt32: UInt128] = [:]
    var overflow = false
    func add(_ d: inout [UInt32: UInt128], _ k: UInt32, _ v: UInt128) {
        let (s, o) = d[k, default: 0].addingReportingOverflow(v)
        overflow = overflow || o
        d[k] = s
    }
    for a in ledger.accounts {
        add(&debitsPosted, a.ledger, a.debitsPosted)
        add(&creditsPosted, a.ledger, a.creditsPosted)
        add(&debitsPending, a.ledger, a.debitsPending)
        add(&creditsPending, a.ledger, a.creditsPending)
        if a.flags.contains(.debitsMustNotExceedCredits) {
            #expect(a.debitsPending + a.debitsPosted <= a.creditsPosted, "limit broken on \(a.id)")
        }
        if a.flags.contains(.creditsMustNotExceedDebits) {
            #expect(a.creditsPending + a.creditsPosted <= a.debitsPosted, "limit broken on \(a.id)")
        }
    }
    // Sums may exceed u128 only in the test's own addition; the ledger never wraps.
    if !overflow {
        #expect(debitsPosted == creditsPosted)
        #expect(debitsPending == creditsPending)
    }
}

/// Recomputes every account's balances from the stored transfers alone and compares.
func checkBalancesFromTransfers(_ ledger: Ledger) {
    var expected: [UInt128: (dp: UInt128, dP: UInt128, cp: UInt128, cP: UInt128)] = [:]
    for i in 0..<ledger.transfers.count {
        let t = ledger.transfers[i]
        let status = PendingStatus(rawValue: ledger.pendingStatuses[i])
        if t.flags.contains(.pending) {
            if status == .pending {
                expected[t.debitAccountId, default: (0, 0, 0, 0)].dp += t.amount
                expected[t.creditAccountId, default: (0, 0, 0, 0)].cp += t.amount
            }
        } else if !t.flags.contains(.voidPendingTransfer) {
            expected[t.debitAccountId, default: (0, 0, 0, 0)].dP += t.amount
            expected[t.creditAccountId, default: (0, 0, 0, 0)].cP += t.amount
        }
    }
    for a in ledger.accounts {
        let e = expected[a.id, default: (0, 0, 0, 0)]
        #expect(a.debitsPending == e.dp && a.debitsPosted == e.dP, "debits of \(a.id)")
        #expect(a.creditsPending == e.cp && a.creditsPosted == e.cP, "credits of \(a.id)")
    }
}

@Suite("Randomized properties")
struct PropertyTests {
    @Test("≥100k random events keep the money invariants and replay to the same digest",
          arguments: [UInt64(0x5EED_0001), 0x5EED_0002])
    func randomTraffic(seed: UInt64) throws {
        var gen = TrafficGenerator(seed: seed)
        let ledger = Ledger()
        var log: [RecordedBatch] = []
        var results: [[UInt32]] = []
        var clock: UInt64 = 1_000_000_000_000
        var events = 0
        var statuses: Set<UInt32> = []

        let opening = gen.accounts(count: 300)
        clock += 1_000_000
        log.append(.accounts(opening, clock))
        results.append(try ledger.createAccounts(opening, timestamp: clock).map(\.status.rawValue))

        while events < 100_000 {
            // Time advances between 0.01 s and 1.5 s per batch so timeouts of 1-3 s expire.
            clock += 10_000_000 + gen.rng.next() % 1_500_000_000
            switch gen.rng.next() % 20 {
            case 0:
                let batch = gen.accounts(count: Int(1 + gen.rng.next() % 20))
                log.append(.accounts(batch, clock))
                results.append(try ledger.createAccounts(batch, timestamp: clock).map(\.status.rawValue))
                events += batch.count
            case 1:
                log.append(.pulse(clock))
                try ledger.pulse(timestamp: clock)
                results.append([])
            default:
                let batch = gen.transferBatch(size: Int(1 + gen.rng.next() % 600))
                let r = try ledger.createTransfers(batch, timestamp: clock)
                for x in r { statuses.insert(x.status.rawValue) }
                log.append(.transfers(batch, clock))
                results.append(r.map(\.status.rawValue))
                events += batch.count
            }
            checkInvariants(ledger)
        }
        checkBalancesFromTransfers(ledger)
        #expect(events >= 100_000)
        #expect(statuses.count >= 25, "the generator should reach many outcomes, got \(statuses.count)")
        #expect(ledger.transferCount > 20_000)

        // Same inputs, fresh ledger with a different hash seed: same results, same digest.
        let replay = Ledger(hashSeed: seed ^ 0xFFFF)
        var replayed: [[UInt32]] = []
        for batch in log {
            switch batch {
            case .accounts(let a, let ts): replayed.append(try replay.createAccounts(a, timestamp: ts).map(\.status.rawValue))
            case .transfers(let t, let ts): replayed.append(try replay.createTransfers(t, timestamp: ts).map(\.status.rawValue))
            case .pulse(let ts):
                try replay.pulse(timestamp: ts)
                replayed.append([])
            }
        }
        #expect(replayed == results)
        #expect(replay.digest() == ledger.digest())

        // And the digest notices a one-unit difference in one balance.
        replay.accounts[0].debitsPosted &+= 1
        #expect(replay.digest() != ledger.digest())
    }
}
