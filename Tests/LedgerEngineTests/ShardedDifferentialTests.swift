import Foundation
import LedgerWorkload
import Testing

@testable import LedgerCore
@testable import LedgerEngine

/// The sharded engine against the serial reference, event for event: random batches
/// (all operations and flags, many cross-shard and conflicting transfers, duplicates,
/// chains, two-phase with expiry), results compared after every batch, lookups and the
/// state digest compared as it goes. `KAMINO_DIFF_EVENTS` raises the event count for a
/// long run (CI default: 1,000,000).
@Suite struct ShardedDifferentialTests {
    static var eventTarget: Int {
        Int(ProcessInfo.processInfo.environment["KAMINO_DIFF_EVENTS"] ?? "") ?? 1_000_000
    }

    @Test("sharded engine (2, 3, 4 shards) equals the serial reference on >= 1M random events")
    func differential() async throws {
        let seed: UInt64 = UInt64(ProcessInfo.processInfo.environment["KAMINO_DIFF_SEED"] ?? "") ?? 0xD1FF_0001
        let target = Self.eventTarget
        var gen = RandomTraffic(seed: seed)
        let reference = Ledger()
        let engines = [2, 3, 4].map { ShardedEngine(shardCount: $0) }
        var clock: UInt64 = 1_000_000_000_000
        var events = 0
        var batchNumber = 0
        var mismatches = 0

        func compare<S: Equatable>(_ expected: [S], _ actual: [S], shards: Int, describe: (Int) -> String) {
            guard expected != actual, mismatches < 5 else { return }
            mismatches += 1
            let i = (0..<min(expected.count, actual.count)).first { expected[$0] != actual[$0] } ?? min(expected.count, actual.count)
            Issue.record("""
                mismatch: seed \(String(seed, radix: 16)) batch \(batchNumber) shards \(shards) event \(i): \
                expected \(i < expected.count ? "\(expected[i])" : "-"), got \(i < actual.count ? "\(actual[i])" : "-"); \
                \(describe(i)). Reproduce: KAMINO_DIFF_SEED=\(seed) KAMINO_DIFF_EVENTS=\(events + 1)
                """)
        }

        let opening = gen.accounts(count: 400)
        clock += 1_000_000
        let openingResults = try reference.createAccounts(opening, timestamp: clock)
        for e in engines { #expect(try e.createAccounts(opening, timestamp: clock) == openingResults) }

        while events < target {
            batchNumber += 1
            clock += 10_000_000 + gen.rng.next() % 1_500_000_000
            switch gen.rng.next() % 40 {
            case 0:
                let batch = gen.accounts(count: Int(1 + gen.rng.next() % 20))
                let expected = try reference.createAccounts(batch, timestamp: clock)
                for e in engines {
                    compare(expected, try e.createAccounts(batch, timestamp: clock), shards: e.ledger.shardCount) { "\(batch[$0])" }
                }
                events += batch.count
            case 1:
                try reference.pulse(timestamp: clock)
                for e in engines { try e.pulse(timestamp: clock) }
            default:
                gen.freeOnly = gen.rng.next() % 10 < 7
                let size = gen.rng.next() % 8 == 0 ? Int(1 + gen.rng.next() % 4000) : Int(1 + gen.rng.next() % 700)
                let batch = gen.transferBatch(size: size)
                let expected = try reference.createTransfers(batch, timestamp: clock)
                for e in engines {
                    let actual = try await e.createTransfers(batch, timestamp: clock)
                    compare(expected, actual, shards: e.ledger.shardCount) { "\(batch[$0])" }
                }
                events += batch.count
                // Lookups of a few ids the batch named.
                let ids = batch.prefix(8).map(\.id)
                let accountIds = batch.prefix(4).flatMap { [$0.debitAccountId, $0.creditAccountId] }
                for e in engines {
                    compare(reference.lookupTransfers(ids), e.ledger.lookupTransfers(ids), shards: e.ledger.shardCount) { _ in "lookup_transfers" }
                    compare(reference.lookupAccounts(accountIds), e.ledger.lookupAccounts(accountIds), shards: e.ledger.shardCount) { _ in "lookup_accounts" }
                    for id in accountIds.prefix(2) {
                        compare(reference.transferTimestamps(ofAccount: id), e.ledger.transferTimestamps(ofAccount: id), shards: e.ledger.shardCount) { _ in "transfer list of account \(id)" }
                    }
                }
            }
            if batchNumber % 25 == 0 {
                // Reads: account transfers and balances with random filters; queries.
                let account = gen.accountIds[Int(gen.rng.next() % UInt64(gen.accountIds.count))]
                let flags: AccountFilterFlags = [[.debits], [.credits], [.debits, .credits], [.debits, .credits, .reversed]][Int(gen.rng.next() % 4)]
                let low = gen.rng.next() % 2 == 0 ? 0 : clock - gen.rng.next() % 20_000_000_000
                let accountFilter = AccountFilter(accountId: account, code: UInt16(gen.rng.next() % 3), timestampMin: low,
                                                  limit: UInt32(1 + gen.rng.next() % 300), flags: flags)
                let queryFilter = QueryFilter(userData64: gen.rng.next() % 5, ledger: UInt32(gen.rng.next() % 3), timestampMin: low,
                                              limit: UInt32(1 + gen.rng.next() % 200),
                                              flags: gen.rng.next() % 2 == 0 ? [] : .reversed)
                for e in engines {
                    let n = e.ledger.shardCount
                    compare(reference.getAccountTransfers(accountFilter), e.ledger.getAccountTransfers(accountFilter), shards: n) { _ in "get_account_transfers \(accountFilter)" }
                    compare(reference.getAccountBalances(accountFilter), e.ledger.getAccountBalances(accountFilter), shards: n) { _ in "get_account_balances \(accountFilter)" }
                    compare(reference.queryAccounts(queryFilter), e.ledger.queryAccounts(queryFilter), shards: n) { _ in "query_accounts \(queryFilter)" }
                    compare(reference.queryTransfers(queryFilter), e.ledger.queryTransfers(queryFilter), shards: n) { _ in "query_transfers \(queryFilter)" }
                }
            }
            if batchNumber % 400 == 0 {
                let digest = reference.digest()
                for e in engines { compare([digest], [e.ledger.digest()], shards: e.ledger.shardCount) { _ in "digest" } }
            }
            if mismatches >= 5 { break }
        }
        let digest = reference.digest()
        for e in engines {
            #expect(e.ledger.digest() == digest, "digest with \(e.ledger.shardCount) shards")
            let stats = e.ledger.stats
            // The parallel path must carry most of the traffic, with many cross-shard events.
            #expect(stats.parallelBatches > stats.fallbackBatches)
            #expect(stats.crossShardEvents > target / 10)
            var reasons: [String] = []
            for r in SerialReason.allCases where stats.serialBatches[r.rawValue] > 0 {
                reasons.append("\(r.label)=\(stats.serialBatches[r.rawValue])")
            }
            print("shards \(e.ledger.shardCount): parallel \(stats.parallelBatches) batches (\(stats.parallelEvents) events, \(stats.crossShardEvents) cross-shard), serial \(stats.serialTotal): \(reasons.joined(separator: " "))")
        }
        #expect(events >= target)
        #expect(mismatches == 0)
    }
}
