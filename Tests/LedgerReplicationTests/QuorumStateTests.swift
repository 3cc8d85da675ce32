import LedgerReplication
import Testing

/// The sync set's state machine: who counts, when the commit LSN moves, and the
/// invariant failover rests on (every member holds every committed LSN).
@Suite struct QuorumStateTests {
    @Test func nothingCommitsUntilTheSetIsComplete() {
        var q = QuorumState(quorum: 2, commitLSN: 10)
        q.progress("a", durable: 15)
        #expect(q.candidate() == "a")
        q.admit("a")
        #expect(q.commitLSN == 10, "one member of two confirms nothing")
        q.progress("b", durable: 12)
        q.admit("b")
        #expect(q.commitLSN == 12, "the slowest member decides")
        q.progress("a", durable: 20)
        #expect(q.commitLSN == 12)
        q.progress("b", durable: 30)
        #expect(q.commitLSN == 20)
    }

    @Test func aFollowerBehindTheCommitPointCannotJoin() {
        var q = QuorumState(quorum: 1, commitLSN: 100)
        q.progress("late", durable: 99)
        #expect(q.candidate() == nil, "a follower that lacks a committed LSN is no candidate")
        q.progress("late", durable: 100)
        #expect(q.candidate() == "late")
    }

    @Test func removingAMemberFreezesTheCommitPoint() {
        var q = QuorumState(quorum: 1, commitLSN: 0)
        q.progress("a", durable: 5)
        q.admit("a")
        #expect(q.commitLSN == 5)
        let removed = q.remove("a")
        #expect(removed)
        q.progress("b", durable: 4)
        #expect(q.candidate() == nil, "b lacks LSN 5, which was committed through a")
        q.progress("b", durable: 9)
        q.admit("b")
        #expect(q.commitLSN == 9)
    }

    @Test func membersAlwaysHoldEveryCommittedLSN() {
        // A random schedule of acks, joins and departures: after every step each member's
        // durable LSN is at least the commit LSN, and the commit LSN never goes back.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var q = QuorumState(quorum: Int.random(in: 1...3, using: &rng), commitLSN: 0)
            var durable: [String: UInt64] = [:]
            var lastCommit: UInt64 = 0
            for _ in 0..<200 {
                let node = ["a", "b", "c", "d"].randomElement(using: &rng) ?? "a"
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    q.remove(node)
                    durable[node] = nil
                case 1...2:
                    if let c = q.candidate() { q.admit(c) }
                default:
                    let next = (durable[node] ?? 0) + UInt64.random(in: 0...3, using: &rng)
                    durable[node] = next
                    q.progress(node, durable: next)
                }
                for (member, lsn) in q.members { #expect(lsn >= q.commitLSN, "\(member) lacks a committed LSN") }
                #expect(q.commitLSN >= lastCommit)
                lastCommit = q.commitLSN
            }
        }
    }
}
