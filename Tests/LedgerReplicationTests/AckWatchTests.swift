import Testing

@testable import LedgerReplication

/// `AckWatch`: a follower is stalled only while records it was sent stay unacknowledged
/// with no ack progress for longer than the timeout; an idle follower never is.
@Suite struct AckWatchTests {
    @Test func anIdleFollowerIsNeverStalled() {
        let watch = AckWatch(acked: 10)
        #expect(!watch.stalled(at: 1_000, timeout: 5))
    }

    @Test func outstandingRecordsWithoutAckProgressStall() {
        var watch = AckWatch(acked: 10)
        watch.sent(through: 12, at: 100)
        #expect(!watch.stalled(at: 104, timeout: 5))
        #expect(watch.stalled(at: 105.5, timeout: 5))
    }

    @Test func ackProgressRestartsTheWaitAndAFullAckEndsIt() {
        var watch = AckWatch(acked: 10)
        watch.sent(through: 20, at: 100)
        watch.acknowledged(15, at: 104)
        #expect(!watch.stalled(at: 108, timeout: 5), "progress at 104 restarts the wait")
        #expect(watch.stalled(at: 109.5, timeout: 5))
        watch.acknowledged(20, at: 110)
        #expect(watch.waitingSince == nil)
        #expect(!watch.stalled(at: 1_000, timeout: 5))
        // An old ack (a lower LSN) is no progress.
        watch.sent(through: 25, at: 1_000)
        watch.acknowledged(18, at: 1_004)
        #expect(watch.stalled(at: 1_005.5, timeout: 5))
    }
}
