package import LedgerCore
#if canImport(Glibc)
import Glibc
#endif

/// A `ShardedLedger` driven by one actor per shard: each round of a batch is one message
/// to every shard actor, run concurrently; the next round starts when all have answered.
///
/// `@unchecked Sendable`: the engine must be used by one caller at a time (a
/// `ShardedSequencer`, which runs one batch at a time, replay or a test; a batch begun
/// while another is in its rounds fails the ledger's `requireIdle`). Within a batch,
/// the rounds touch disjoint memory (see `ShardedLedger`); the ledger's `RoundSequence`
/// checks with preconditions that every shard runs each round once, in order, and that
/// no round starts before every shard finished the previous one.
package final class ShardedEngine: @unchecked Sendable {
    package let ledger: ShardedLedger
    private let shards: [ShardActor]
    /// Wall time spent in each phase of create_transfers batches (for the scaling
    /// estimate: the rounds run in parallel, `begin` and `plan` on one thread).
    package private(set) var phaseTimes = PhaseTimes()

    /// Seconds per phase, summed over batches.
    package struct PhaseTimes: Sendable {
        /// Checks, expiry and serial fallbacks (one thread).
        package var begin: Double = 0
        package var resolve: Double = 0
        /// Homes and parallel rules (one thread).
        package var plan: Double = 0
        package var execute: Double = 0
        package var settle: Double = 0
        /// Thread CPU seconds of the rounds: summed over shards, and the longest shard
        /// per round summed over rounds (the critical path on dedicated cores).
        package var roundCPU: Double = 0
        package var roundCriticalPath: Double = 0
    }

    /// Batch buffers reused by every `createTransfers` call.
    private let eventsBuffer: UnsafeMutablePointer<Transfer>
    private let resultsBuffer: UnsafeMutablePointer<CreateTransferResult>

    /// Creates an engine over `ledger` (which it then owns).
    package init(ledger: ShardedLedger) {
        self.ledger = ledger
        shards = (0..<ledger.shardCount).map { ShardActor(index: $0) }
        eventsBuffer = .allocate(capacity: LedgerLimits.batchMax)
        eventsBuffer.initialize(repeating: Transfer(id: 0, ledger: 0, code: 0), count: LedgerLimits.batchMax)
        resultsBuffer = .allocate(capacity: LedgerLimits.batchMax)
    }

    deinit {
        eventsBuffer.deallocate()
        resultsBuffer.deallocate()
    }

    package convenience init(shardCount: Int, expectedTransfers: Int = 0) {
        self.init(ledger: ShardedLedger(shardCount: shardCount, expectedTransfers: expectedTransfers))
    }

    /// Applies a `create_transfers` batch: serially when the plan says so, otherwise in
    /// three rounds across the shard actors.
    package func createTransfers(_ events: [Transfer], timestamp: UInt64) async throws(LedgerError)
        -> [CreateTransferResult]
    {
        let count = events.count
        if count == 0 || count > LedgerLimits.batchMax {
            // Checked and answered (or refused) by the ledger itself.
            return try ledger.createTransfers(events, timestamp: timestamp)
        }
        // The rounds read the events from a buffer that outlives the awaits; the engine's
        // own buffers are reused batch after batch (no fresh pages to fault in).
        events.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { eventsBuffer.update(from: base, count: count) }
        }
        let results = resultsBuffer
        let batch = ShardedTransferBatch(
            events: UnsafeBufferPointer(start: eventsBuffer, count: count), results: results, timestamp: timestamp)
        let clock = ContinuousClock()
        var mark = clock.now
        func lap(_ phase: WritableKeyPath<PhaseTimes, Double>) {
            let now = clock.now
            let d = now - mark
            phaseTimes[keyPath: phase] += Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            mark = now
        }
        let parallel = try ledger.beginTransfers(batch)
        lap(\.begin)
        if parallel {
            await round { ledger, s in ledger.resolveRound(batch, shard: s) }
            lap(\.resolve)
            let planned = ledger.planRound(batch)
            lap(\.plan)
            if planned {
                await round { ledger, s in ledger.executeRound(batch, shard: s) }
                ledger.beginSettleRound()
                lap(\.execute)
                await round { ledger, s in ledger.settleRound(batch, shard: s) }
                ledger.finishTransfers(batch)
                lap(\.settle)
            }
        }
        return Array(UnsafeBufferPointer(start: results, count: count))
    }

    /// Applies a `create_accounts` batch (serial).
    package func createAccounts(_ events: [Account], timestamp: UInt64) throws(LedgerError) -> [CreateAccountResult] {
        try ledger.createAccounts(events, timestamp: timestamp)
    }

    /// Applies a `pulse`.
    package func pulse(timestamp: UInt64) throws(LedgerError) {
        try ledger.pulse(timestamp: timestamp)
    }

    /// Applies one logged batch from its canonical bytes (replay and recovery).
    @discardableResult
    package func applyLogged(operation: Operation, timestamp: UInt64, body: [UInt8]) async throws -> Int {
        let events = try body.withUnsafeBytes { (b) throws(CodecError) -> BatchEvents in
            try BatchEvents.decode(operation: operation, body: b)
        }
        _ = try events.requestTimestamps(last: timestamp)
        _ = try await apply(events, timestamp: timestamp)
        return events.count
    }

    /// Applies a batch stamped `timestamp` (a coalesced record: each request in turn, under
    /// its own timestamp, which the caller checked with `requestTimestamps`).
    package func apply(_ events: BatchEvents, timestamp: UInt64) async throws(LedgerError) -> BatchResults {
        switch events {
        case .accounts(let events):
            return .accounts(try createAccounts(events, timestamp: timestamp))
        case .transfers(let events):
            return .transfers(try await createTransfers(events, timestamp: timestamp))
        case .pulse:
            try pulse(timestamp: timestamp)
            return .none
        case .accountRequests(let requests):
            let stamps = events.checkedRequestTimestamps(last: timestamp)
            var out: [[CreateAccountResult]] = []
            out.reserveCapacity(requests.count)
            for (r, t) in zip(requests, stamps) { out.append(try createAccounts(r, timestamp: t)) }
            return .accountRequests(out)
        case .transferRequests(let requests):
            let stamps = events.checkedRequestTimestamps(last: timestamp)
            var out: [[CreateTransferResult]] = []
            out.reserveCapacity(requests.count)
            for (r, t) in zip(requests, stamps) { out.append(try await createTransfers(r, timestamp: t)) }
            return .transferRequests(out)
        }
    }

    /// Runs `work` for every shard on its actor and waits for all of them.
    private func round(_ work: @escaping @Sendable (ShardedLedger, Int) -> Void) async {
        let handle = LedgerHandle(ledger: ledger)
        let (total, longest) = await withTaskGroup(of: Double.self) { group in
            for shard in shards {
                group.addTask { await shard.run(handle, work) }
            }
            var total = 0.0
            var longest = 0.0
            for await seconds in group {
                total += seconds
                longest = max(longest, seconds)
            }
            return (total, longest)
        }
        phaseTimes.roundCPU += total
        phaseTimes.roundCriticalPath += longest
    }
}

/// The ledger handed to the shard actors for one round (see `ShardedEngine`).
/// `@unchecked Sendable`: every shard of a round gets the same ledger; what keeps them
/// apart is checked by the ledger's `RoundSequence` (each round entry point requires its
/// phase and runs once per shard; the driver advances only after every shard ran).
struct LedgerHandle: @unchecked Sendable {
    let ledger: ShardedLedger
}

/// One shard's executor: runs its part of each round.
actor ShardActor {
    let index: Int

    init(index: Int) { self.index = index }

    /// Runs this shard's part of a round; returns the thread CPU seconds it took.
    func run(_ handle: LedgerHandle, _ work: @Sendable (ShardedLedger, Int) -> Void) -> Double {
        let start = threadCPUSeconds()
        work(handle.ledger, index)
        return threadCPUSeconds() - start
    }
}

/// CPU time of the calling thread (not wall time: other processes do not count).
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
