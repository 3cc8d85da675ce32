import LedgerServer
import Synchronization
import Testing

/// The server-wide limiter and its idle signal (what `LedgerTCPServer.stop()` awaits).
@Suite("InFlightLimiter: bound and idle signal")
struct InFlightLimiterTests {
    @Test("takes at most `limit` slots; a release frees one")
    func bound() {
        let limiter = InFlightLimiter(limit: 2)
        #expect(limiter.tryAcquire())
        #expect(limiter.tryAcquire())
        #expect(!limiter.tryAcquire())
        limiter.release()
        #expect(limiter.inFlight == 1)
        #expect(limiter.tryAcquire())
    }

    @Test("whenIdle runs at once when idle, else on the release of the last slot, once")
    func idleSignal() {
        let limiter = InFlightLimiter(limit: 4)
        let calls = Atomic<Int>(0)
        limiter.whenIdle { calls.add(1, ordering: .relaxed) }
        #expect(calls.load(ordering: .relaxed) == 1)

        #expect(limiter.tryAcquire())
        #expect(limiter.tryAcquire())
        limiter.whenIdle { calls.add(10, ordering: .relaxed) }
        #expect(calls.load(ordering: .relaxed) == 1)
        limiter.release()
        #expect(calls.load(ordering: .relaxed) == 1, "one request still in flight")
        limiter.release()
        #expect(calls.load(ordering: .relaxed) == 11)
        #expect(limiter.tryAcquire())
        limiter.release()
        #expect(calls.load(ordering: .relaxed) == 11, "a callback runs once")
    }
}
