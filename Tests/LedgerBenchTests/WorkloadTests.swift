import LedgerCore
import Testing
@testable import LedgerBench

@Suite struct WorkloadTests {
    private func shape(twoPhase: Double = 0, linked: Double = 0, distribution: AccountDistribution = .uniform) -> TransferShape {
        TransferShape(identity: RunIdentity(seed: 7), picker: AccountPicker(count: 1000, distribution: distribution),
                      twoPhase: twoPhase, linked: linked)
    }

    @Test func sameSeedSameBatches() {
        var a = TransferGenerator(shape: shape(twoPhase: 0.2, linked: 0.2), seed: 42, worker: 3)
        var b = TransferGenerator(shape: shape(twoPhase: 0.2, linked: 0.2), seed: 42, worker: 3)
        for _ in 0..<5 { #expect(a.nextBatch(size: 500) == b.nextBatch(size: 500)) }
    }

    @Test func otherSeedOrWorkerOtherBatches() {
        var a = TransferGenerator(shape: shape(), seed: 42, worker: 0)
        var b = TransferGenerator(shape: shape(), seed: 43, worker: 0)
        var c = TransferGenerator(shape: shape(), seed: 42, worker: 1)
        let x = a.nextBatch(size: 100)
        #expect(x != b.nextBatch(size: 100))
        let y = c.nextBatch(size: 100)
        #expect(x.map(\.debitAccountId) != y.map(\.debitAccountId))
        // Ids never collide between workers.
        #expect(Set(x.map(\.id)).isDisjoint(with: y.map(\.id)))
    }

    @Test func runIdentityDependsOnSeed() {
        #expect(RunIdentity(seed: 1) == RunIdentity(seed: 1))
        #expect(RunIdentity(seed: 1).ledger != RunIdentity(seed: 2).ledger)
        #expect(RunIdentity(seed: 1).ledger != 0)
        let id = RunIdentity(seed: 1)
        #expect(id.accountId(0) != id.transferId(worker: 0, sequence: 0))
        #expect(id.accountId(0) != id.fundingAccountId)
    }

    @Test func transfersAreValidShape() {
        var g = TransferGenerator(shape: shape(), seed: 1, worker: 0)
        let batch = g.nextBatch(size: 8189)
        #expect(batch.count == 8189)
        #expect(Set(batch.map(\.id)).count == 8189)
        let identity = RunIdentity(seed: 7)
        let accounts = Set((0..<1000).map { identity.accountId($0) })
        for t in batch {
            #expect(t.debitAccountId != t.creditAccountId)
            #expect(accounts.contains(t.debitAccountId) && accounts.contains(t.creditAccountId))
            #expect(t.amount >= 1 && t.amount <= 1000)
            #expect(t.ledger == identity.ledger)
            #expect(t.flags.isEmpty)
        }
    }

    @Test func twoPhaseResolvesEarlierPendings() {
        var g = TransferGenerator(shape: shape(twoPhase: 0.5), seed: 9, worker: 0)
        var pending: [UInt128: Transfer] = [:]
        var resolved = 0
        var seenPending = 0
        for _ in 0..<10 {
            let batch = g.nextBatch(size: 1000)
            var thisBatch = Set<UInt128>()
            for t in batch {
                if t.flags.contains(.pending) {
                    pending[t.id] = t
                    thisBatch.insert(t.id)
                    seenPending += 1
                } else if t.flags.contains(.postPendingTransfer) || t.flags.contains(.voidPendingTransfer) {
                    let p = pending.removeValue(forKey: t.pendingId)
                    #expect(p != nil, "resolves a pending transfer made before")
                    #expect(!thisBatch.contains(t.pendingId), "never one of the same batch")
                    #expect(p?.amount == t.amount && p?.debitAccountId == t.debitAccountId)
                    resolved += 1
                }
            }
        }
        let share = Double(seenPending + resolved) / 10_000
        #expect(share > 0.45 && share < 0.55)
        #expect(resolved > 2000)
    }

    @Test func linkedChainsStayInsideBatches() {
        var g = TransferGenerator(shape: shape(linked: 0.3), seed: 5, worker: 0)
        var linkedEvents = 0
        for _ in 0..<20 {
            let batch = g.nextBatch(size: 97)
            #expect(batch.last?.flags.contains(.linked) == false)
            var run = 0
            for t in batch {
                if t.flags.contains(.linked) {
                    run += 1
                } else {
                    if run > 0 { linkedEvents += run + 1 }
                    #expect(run <= 3)
                    run = 0
                }
            }
        }
        let share = Double(linkedEvents) / Double(20 * 97)
        #expect(share > 0.2 && share < 0.4, "linked share \(share)")
    }

    @Test func zipfFavoursLowRanks() {
        let sampler = ZipfSampler(count: 1000, theta: 0.99)
        var rng = BenchRandom(seed: 11)
        var counts = [Int](repeating: 0, count: 1000)
        let n = 200_000
        for _ in 0..<n { counts[sampler.sample(rng.unit())] += 1 }
        let p0 = Double(counts[0]) / Double(n)
        #expect(abs(p0 - sampler.probability(of: 0)) < 0.01, "rank 0: \(p0) vs \(sampler.probability(of: 0))")
        #expect(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500])
        let top10 = counts[0..<10].reduce(0, +)
        #expect(Double(top10) / Double(n) > 0.25, "the 1% hottest accounts get over a quarter of the picks")
        #expect(counts.allSatisfy { $0 >= 0 })
    }

    @Test func uniformIsFlat() {
        let picker = AccountPicker(count: 10, distribution: .uniform)
        var rng = BenchRandom(seed: 3)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[picker.pick(&rng)] += 1 }
        #expect(counts.allSatisfy { $0 > 9_000 && $0 < 11_000 })
    }

    @Test func distributionParsing() {
        #expect(AccountDistribution(parsing: "uniform") == .uniform)
        #expect(AccountDistribution(parsing: "zipf") == .zipf(theta: 0.99))
        #expect(AccountDistribution(parsing: "hot") == .zipf(theta: 0.99))
        #expect(AccountDistribution(parsing: "zipf:0.8") == .zipf(theta: 0.8))
        #expect(AccountDistribution(parsing: "zipf:1.5") == nil)
        #expect(AccountDistribution(parsing: "gauss") == nil)
    }

    @Test func bankMixProportions() {
        #expect(BankAction.allCases.reduce(0) { $0 + $1.percent } == 100)
        var rng = BenchRandom(seed: 21)
        var counts = [Int](repeating: 0, count: BankAction.allCases.count)
        let n = 100_000
        for _ in 0..<n { counts[BankAction.next(&rng).rawValue] += 1 }
        for a in BankAction.allCases {
            let share = Double(counts[a.rawValue]) / Double(n) * 100
            #expect(abs(share - Double(a.percent)) < 1, "\(a.name): \(share)% vs \(a.percent)%")
        }
    }
}
