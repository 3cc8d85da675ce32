/// The rounds of a `create_transfers` batch run in parallel, in the order they must run.
package enum RoundPhase: UInt8, Sendable {
    /// No batch is in rounds: serial work (create_accounts, pulse, a serial batch) may run.
    case idle
    /// Round 1: every shard resolves its partition's ids (read-only).
    case resolve
    /// Between rounds 1 and 2, on the driver's thread only.
    case plan
    /// Round 2: every shard decides and applies the events homed on it.
    case execute
    /// Round 3: every shard applies the legs and directory inserts sent to it.
    case settle
}

/// The check that keeps the rounds of a batch apart: the one driver advances the phase
/// between rounds; each shard's part of a round checks that its round is the current one
/// and marks its own slot; advancing checks that every shard ran the round just ended.
/// Shards of one round read `phase` and write only their own slot, so a round's shards
/// may run at once; the driver must wait for all of them (its barrier gives the ordering)
/// before it advances.
final class RoundSequence {
    private(set) var phase: RoundPhase = .idle
    private let shardCount: Int
    /// Per shard: ran the current round (written by that shard only).
    private let ran: UnsafeMutablePointer<Bool>

    init(shardCount: Int) {
        self.shardCount = shardCount
        ran = .allocate(capacity: shardCount)
        ran.initialize(repeating: false, count: shardCount)
    }

    deinit { ran.deallocate() }

    /// Shard `s` starts its part of round `round`.
    @inline(__always)
    func enter(_ round: RoundPhase, shard s: Int) {
        precondition(phase == round, "round \(round) run in phase \(phase)")
        precondition(!ran[s], "shard \(s) ran round \(round) twice")
        ran[s] = true
    }

    /// The driver starts a batch's rounds (from `idle`).
    func start() {
        precondition(phase == .idle, "a batch started in phase \(phase)")
        phase = .resolve
    }

    /// The driver ends round `round`, which every shard ran, and moves to `next`.
    func advance(from round: RoundPhase, to next: RoundPhase) {
        precondition(phase == round, "round \(round) ended in phase \(phase)")
        if round != .plan {
            for s in 0..<shardCount { precondition(ran[s], "shard \(s) did not run round \(round)") }
        }
        ran.update(repeating: false, count: shardCount)
        phase = next
    }

    /// Serial work on the whole ledger may run only between batches run in rounds.
    @inline(__always)
    func requireIdle() {
        precondition(phase == .idle, "serial work in phase \(phase)")
    }
}
