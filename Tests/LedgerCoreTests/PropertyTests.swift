import LedgerStorage
import LedgerWorkload
import Testing

@testable import LedgerCore

/// The tests' deterministic generator (shared with the workload generators).
typealias SeededRandom = SplitMix64
typealias TrafficGenerator = RandomTraffic

/// One recorded batch, so the same inputs can be replayed on a fresh ledger.
enum RecordedBatch {
    case accounts([Account], UInt64)
    case transfers([Transfer], UInt64)
    case pulse(UInt64)
}

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
        let ledger = Ledger(memoryProvisioner: MemoryProvisioner.shared)
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

        // Same inputs, fresh ledger with a different hash seed and no memory prefaulting:
        // same results, same digest.
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
