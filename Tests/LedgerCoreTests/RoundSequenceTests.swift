import Testing

@testable import LedgerCore

/// The check that keeps a sharded batch's rounds apart (`RoundSequence`).
@Suite struct RoundSequenceTests {
    @Test("a batch in rounds passes every phase in order and ends idle")
    func phases() throws {
        let sequence = RoundSequence(shardCount: 2)
        #expect(sequence.phase == .idle)
        sequence.start()
        for s in 0..<2 { sequence.enter(.resolve, shard: s) }
        sequence.advance(from: .resolve, to: .plan)
        sequence.advance(from: .plan, to: .execute)
        for s in 0..<2 { sequence.enter(.execute, shard: s) }
        sequence.advance(from: .execute, to: .settle)
        for s in 0..<2 { sequence.enter(.settle, shard: s) }
        sequence.advance(from: .settle, to: .idle)
        #expect(sequence.phase == .idle)
    }

    @Test("the sharded ledger is idle after a batch in rounds and after a serial fallback")
    func ledgerEndsIdle() throws {
        let ledger = ShardedLedger(shardCount: 2)
        ledger.parallelThreshold = 1
        _ = try ledger.createAccounts([Account(id: 1, ledger: 1, code: 1), Account(id: 2, ledger: 1, code: 1)], timestamp: 10)
        let plain = Transfer(id: 7, debitAccountId: 1, creditAccountId: 2, amount: 5, ledger: 1, code: 1)
        #expect(try ledger.createTransfers([plain], timestamp: 20).map(\.status) == [.created])
        #expect(ledger.rounds.phase == .idle)
        #expect(ledger.stats.parallelBatches == 1)
        let imported = Transfer(
            id: 8, debitAccountId: 1, creditAccountId: 2, amount: 5, ledger: 1, code: 1, flags: .imported, timestamp: 25)
        #expect(try ledger.createTransfers([imported], timestamp: 30).map(\.status) == [.created])
        #expect(ledger.rounds.phase == .idle)
    }

    @Test("a shard that runs a round twice traps")
    func twice() async {
        await #expect(processExitsWith: .failure) {
            let sequence = RoundSequence(shardCount: 2)
            sequence.start()
            sequence.enter(.resolve, shard: 0)
            sequence.enter(.resolve, shard: 0)
        }
    }

    @Test("a round that starts before the previous one ended on every shard traps")
    func early() async {
        await #expect(processExitsWith: .failure) {
            let sequence = RoundSequence(shardCount: 2)
            sequence.start()
            sequence.enter(.resolve, shard: 0)
            sequence.advance(from: .resolve, to: .plan)
        }
    }

    @Test("a round run in another round's phase traps")
    func outOfOrder() async {
        await #expect(processExitsWith: .failure) {
            let sequence = RoundSequence(shardCount: 2)
            sequence.start()
            sequence.enter(.execute, shard: 0)
        }
    }
}
