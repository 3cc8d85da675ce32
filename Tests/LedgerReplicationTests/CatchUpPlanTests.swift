import LedgerReplication
import LedgerStorage
import Testing

/// The primary's answer to a follower's `hello`, decided from the two epoch histories and
/// what the primary still holds.
@Suite struct CatchUpPlanTests {
    private func history(_ entries: [(UInt64, UInt64)]) -> EpochHistoryFile {
        EpochHistoryFile(entries: entries.map { .init(epoch: $0.0, firstLSN: $0.1) })
    }

    @Test func aFollowerBehindInTheSameEpochStreams() {
        let h = history([(1, 1)])
        #expect(CatchUpPlan.decide(followerHistory: h, followerLast: 40, primaryHistory: h, primaryLast: 100,
                                   oldestLogLSN: 1, newestSnapshot: nil) == .stream(from: 41))
        #expect(CatchUpPlan.decide(followerHistory: h, followerLast: 100, primaryHistory: h, primaryLast: 100,
                                   oldestLogLSN: 1, newestSnapshot: nil) == .stream(from: 101))
    }

    @Test func anOldPrimaryWithAnUnacknowledgedTailIsCut() {
        // Epoch 1 wrote 1...120 on the old primary; the new primary took over at 101 in epoch 2.
        let old = history([(1, 1)])
        let new = history([(1, 1), (2, 101)])
        #expect(CatchUpPlan.decide(followerHistory: old, followerLast: 120, primaryHistory: new, primaryLast: 150,
                                   oldestLogLSN: 1, newestSnapshot: nil) == .truncate(after: 100))
        // An old primary that had not got past what the new one holds only streams.
        #expect(CatchUpPlan.decide(followerHistory: old, followerLast: 90, primaryHistory: new, primaryLast: 150,
                                   oldestLogLSN: 1, newestSnapshot: nil) == .stream(from: 91))
    }

    @Test func aFollowerAheadOfTheNewPrimaryInTheSameEpochIsCutToIt() {
        // Both logs are epoch 3 through 200, but the new primary (promoted at 181) only has 180 of it.
        let follower = history([(3, 1)])
        let primary = history([(3, 1), (4, 181)])
        #expect(CatchUpPlan.decide(followerHistory: follower, followerLast: 200, primaryHistory: primary,
                                   primaryLast: 190, oldestLogLSN: 1, newestSnapshot: nil) == .truncate(after: 180))
    }

    @Test func aGoneLogMeansTheSnapshot() {
        let h = history([(1, 1)])
        #expect(CatchUpPlan.decide(followerHistory: EpochHistoryFile(), followerLast: 0, primaryHistory: h,
                                   primaryLast: 500, oldestLogLSN: 301, newestSnapshot: 300) == .snapshot(lsn: 300))
        // A snapshot older than the follower cannot help; the log is gone: nothing to offer.
        if case .cannotServe = CatchUpPlan.decide(followerHistory: h, followerLast: 200, primaryHistory: h,
                                                   primaryLast: 500, oldestLogLSN: 301, newestSnapshot: 150) {
        } else {
            Issue.record("a follower past the snapshot whose log is gone cannot be served")
        }
    }

    @Test func anEmptyFollowerOfAFullLogStreamsFromOne() {
        let h = history([(1, 1), (5, 70)])
        #expect(CatchUpPlan.decide(followerHistory: EpochHistoryFile(), followerLast: 0, primaryHistory: h,
                                   primaryLast: 100, oldestLogLSN: 1, newestSnapshot: nil) == .stream(from: 1))
    }
}
