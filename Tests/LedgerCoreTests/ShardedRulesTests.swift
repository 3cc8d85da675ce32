import Testing

@testable import LedgerCore

/// Directed cases for the sharded ledger's parallel rules: each batch would go wrong if
/// run in parallel rounds without the rule, so it must give exactly the serial ledger's
/// results (and digest), and the stats say which path ran.
@Suite struct ShardedRulesTests {
    /// Two shards; ids picked so that `a0`, `a1` live on shard 0 and `b0`, `b1`, `b2` on 1.
    struct Fixture {
        let serial = Ledger()
        let sharded = ShardedLedger(shardCount: 2)
        var a: [UInt128] = []
        var b: [UInt128] = []
        var clock: UInt64 = 1_000_000_000

        /// `flags(shard, index)`: the flags of the index-th account on that shard.
        init(flags: (Int, Int) -> AccountFlags = { _, _ in [] }) throws {
            sharded.parallelThreshold = 1
            var id: UInt128 = 1
            while a.count < 2 || b.count < 3 {
                if sharded.routing.shard(ofAccount: id) == 0 { if a.count < 2 { a.append(id) } } else if b.count < 3 { b.append(id) }
                id += 1
            }
            let accounts = a.enumerated().map { Account(id: $1, ledger: 1, code: 1, flags: flags(0, $0)) }
                + b.enumerated().map { Account(id: $1, ledger: 1, code: 1, flags: flags(1, $0)) }
            clock += 1_000
            #expect(try serial.createAccounts(accounts, timestamp: clock) == sharded.createAccounts(accounts, timestamp: clock))
        }

        /// Applies a batch to both; expects equal results and digests; returns the statuses.
        mutating func apply(_ batch: [Transfer]) throws -> [CreateTransferStatus] {
            clock += 1_000_000
            let expected = try serial.createTransfers(batch, timestamp: clock)
            let actual = try sharded.createTransfers(batch, timestamp: clock)
            #expect(actual == expected)
            #expect(sharded.digest() == serial.digest())
            return expected.map(\.status)
        }
    }

    func t(_ id: UInt128, _ from: UInt128, _ to: UInt128, _ amount: UInt128 = 10, flags: TransferFlags = [],
           pending: UInt128 = 0) -> Transfer {
        Transfer(id: id, debitAccountId: from, creditAccountId: to, amount: amount, pendingId: pending,
                 ledger: 1, code: 1, flags: flags)
    }

    @Test("a balance limit fed by a credit earlier in the same batch, from another shard")
    func creditThenDebitAcrossShards() throws {
        // Shard 0's accounts are free (funding); shard 1's have no overdraft. a0 -> b0
        // crosses shards; b0 -> b1 (at b0's home) succeeds only because of that credit.
        var f = try Fixture { shard, _ in shard == 1 ? [.debitsMustNotExceedCredits] : [] }
        let statuses = try f.apply([t(200, f.a[0], f.b[0], 50), t(201, f.b[0], f.b[1], 30), t(202, f.b[1], f.b[2], 31)])
        #expect(statuses == [.created, .created, .exceedsCredits])
        #expect(f.sharded.stats.serialBatches[SerialReason.orderedAccount.rawValue] == 1)
    }

    @Test("closing a foreign account, then a local transfer to it")
    func closingAcrossShards() throws {
        var f = try Fixture()
        let statuses = try f.apply([
            t(300, f.a[0], f.b[0], flags: [.pending, .closingCredit]),
            t(301, f.b[1], f.b[0]),
        ])
        #expect(statuses == [.created, .creditAccountAlreadyClosed])
        #expect(f.sharded.stats.serialBatches[SerialReason.closing.rawValue] == 1)
    }

    @Test("a cross-shard void reopens a closed account used later in the batch")
    func reopeningAcrossShards() throws {
        var f = try Fixture()
        #expect(try f.apply([t(400, f.a[0], f.b[0], flags: [.pending, .closingCredit])]) == [.created])
        let statuses = try f.apply([
            Transfer(id: 401, pendingId: 400, flags: .voidPendingTransfer),
            t(402, f.b[1], f.b[0]),
        ])
        #expect(statuses == [.created, .created])
    }

    @Test("a pending transfer and its post in the same batch, across shards, run in parallel")
    func pendingAndPostInOneBatch() throws {
        var f = try Fixture()
        let statuses = try f.apply([
            t(500, f.a[0], f.b[0], 40, flags: .pending),
            Transfer(id: 501, amount: .max, pendingId: 500, flags: .postPendingTransfer),
            t(502, f.b[0], f.a[1], 5),
        ])
        #expect(statuses == [.created, .created, .created])
        #expect(f.sharded.stats.parallelBatches == 1)
    }

    @Test("duplicate ids in one batch, on different shards")
    func duplicateIdsAcrossShards() throws {
        var f = try Fixture()
        let statuses = try f.apply([t(600, f.a[0], f.a[1]), t(600, f.b[0], f.b[1])])
        #expect(statuses == [.created, .existsWithDifferentDebitAccountId])
        #expect(f.sharded.stats.serialBatches[SerialReason.duplicateId.rawValue] == 1)
    }

    @Test("a linked chain across shards that fails is decided in the plan and rolled back")
    func failingChainAcrossShards() throws {
        var f = try Fixture()
        let statuses = try f.apply([
            t(700, f.a[0], f.b[0], flags: .linked),
            t(701, f.b[1], f.a[1], flags: .linked),
            t(702, f.b[2], 999_999),  // no such account
            t(703, f.a[0], f.b[1]),
        ])
        #expect(statuses == [.linkedEventFailed, .linkedEventFailed, .creditAccountNotFound, .created])
        #expect(f.sharded.stats.parallelBatches == 1)
        #expect(f.sharded.lookupTransfers([700, 701]).isEmpty)
    }

    @Test("a balancing transfer in a batch with cross-shard transfers")
    func balancingWithCrossShard() throws {
        var f = try Fixture()
        let statuses = try f.apply([t(800, f.a[0], f.b[0], 25), t(801, f.b[0], f.b[1], 100, flags: .balancingDebit)])
        #expect(statuses == [.created, .created])
        // b0's room is the 25 credited from the other shard earlier in the batch.
        #expect(f.serial.lookupTransfers([801]).first?.amount == 25)
        #expect(f.sharded.stats.serialBatches[SerialReason.balancing.rawValue] == 1)
    }
}

extension ShardedRulesTests {
    @Test("a post of a pending transfer whose chain was undone earlier in the batch")
    func postOfRolledBackPending() throws {
        var f = try Fixture()
        _ = try f.apply([t(900, f.a[0], f.a[1], 100, flags: .pending)])
        let statuses = try f.apply([
            t(901, f.a[0], f.a[1], 10, flags: [.pending, .linked]),
            t(902, f.a[0], 999_999, 5),  // fails: the chain is undone
            t(903, f.a[0], f.a[1], 7, flags: .pending),  // takes the undone transfer's place
            Transfer(id: 904, amount: .max, pendingId: 901, flags: .postPendingTransfer),
        ])
        #expect(statuses == [.linkedEventFailed, .creditAccountNotFound, .created, .pendingTransferNotFound])
        #expect(f.sharded.stats.parallelBatches == 2)
    }
}
