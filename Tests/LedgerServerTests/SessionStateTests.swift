import LedgerServer
import Testing

/// The session state machine on its own: no socket, no event loop, no server.
@Suite("SessionState: admission, backpressure, drain and close")
struct SessionStateTests {
    typealias Actions = SessionState.Actions

    /// Admits a request with a global slot always free and the server running.
    static func admit(_ state: inout SessionState, bound: Int = 100) -> SessionState.Admission {
        state.requestDecoded(replyBound: bound, acquireGlobalSlot: { true }, serverStopping: { false })
    }

    /// Runs the request to its flushed reply; returns the actions of the flush (the
    /// channel still `writable` after it takes the reply).
    static func answer(_ state: inout SessionState, bound: Int = 100, bytes: Int = 80, writable: Bool = true) -> Actions {
        Self.check(state.requestFinished(replyBound: bound), .write)
        state.willWrite(bytes: bytes)
        return state.replyFlushed(bytes: bytes, holdsSlot: true, writable: writable)
    }

    /// `#expect` cannot take mutating calls; this compares their results.
    static func check<T: Equatable>(
        _ got: T, _ want: T, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(got == want, comment, sourceLocation: sourceLocation)
    }

    @Test("admits up to maxInFlight, answers busy beyond, admits again once a reply is written")
    func perConnectionBound() {
        var state = SessionState(maxInFlight: 2, maxReplyBytes: 1 << 20)
        Self.check(Self.admit(&state), .start)
        Self.check(Self.admit(&state), .start)
        Self.check(Self.admit(&state), .refuseBusy)
        #expect(state.inFlight == 2)
        Self.check(Self.answer(&state), .releaseGlobalSlot)
        #expect(state.inFlight == 1)
        Self.check(Self.admit(&state), .start)
    }

    @Test("one request is always admitted when none is in flight, even over the byte bound")
    func oneAlwaysAdmitted() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1_000)
        Self.check(Self.admit(&state, bound: 5_000), .start)
        Self.check(Self.admit(&state, bound: 10), .refuseBusy)
        Self.check(Self.answer(&state, bound: 5_000), .releaseGlobalSlot)
        Self.check(Self.admit(&state, bound: 600), .start)
        Self.check(Self.admit(&state, bound: 400), .start)
        Self.check(Self.admit(&state, bound: 1), .refuseBusy)
        #expect(state.reservedBytes == 1_000)
    }

    @Test("queued reply bytes count against the bound until their write completes")
    func queuedBytesCount() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1_000)
        Self.check(Self.admit(&state, bound: 100), .start)
        state.willWrite(bytes: 950)   // an error reply written and not yet sent
        Self.check(Self.admit(&state, bound: 100), .refuseBusy)
        Self.check(state.replyWritten(bytes: 950, holdsSlot: false, writable: true), [])
        Self.check(Self.admit(&state, bound: 100), .start)
    }

    @Test("the global limiter is asked only when the connection admits, before the stopping flag")
    func globalSlotAndStopping() {
        var state = SessionState(maxInFlight: 1, maxReplyBytes: 1 << 20)
        var asked = 0
        Self.check(state.requestDecoded(replyBound: 10, acquireGlobalSlot: { asked += 1; return false },
                                     serverStopping: { false }), .refuseBusy)
        #expect(asked == 1)
        Self.check(state.requestDecoded(replyBound: 10, acquireGlobalSlot: { asked += 1; return false },
                                     serverStopping: { true }), .refuseShuttingDown(releaseGlobalSlot: false))
        var order: [String] = []
        let admission = state.requestDecoded(
            replyBound: 10, acquireGlobalSlot: { order.append("acquire"); return true },
            serverStopping: { order.append("stopping"); return true })
        #expect(admission == .refuseShuttingDown(releaseGlobalSlot: true))
        #expect(order == ["acquire", "stopping"])
        #expect(state.inFlight == 0)
        Self.check(Self.admit(&state), .start)
        // The connection's own bound refuses first: the limiter is not asked.
        Self.check(state.requestDecoded(replyBound: 10, acquireGlobalSlot: { asked += 1; return true },
                                     serverStopping: { false }), .refuseBusy)
        #expect(asked == 2)
    }

    @Test("reads pause while not writable or over the byte bound, and resume after")
    func readBackpressure() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1_000)
        Self.check(state.readRequested(writable: true), true)
        Self.check(state.readRequested(writable: false), false)
        #expect(state.pendingRead)
        Self.check(state.writabilityChanged(writable: false), [])
        Self.check(state.writabilityChanged(writable: true), .read)
        #expect(!state.pendingRead)
        Self.check(state.writabilityChanged(writable: true), [])

        Self.check(Self.admit(&state, bound: 2_000), .start)   // over the bound
        Self.check(state.readRequested(writable: true), false)
        Self.check(Self.answer(&state, bound: 2_000), [.releaseGlobalSlot, .read])
    }

    @Test("drain with nothing in flight: flush, half-close and linger, close at the client's EOF")
    func drainIdle() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1_000)
        state.channelActive()
        #expect(state.inputClosed() == .finishDecoding)
        Self.check(state.stopInput(), [.scheduleDrainDeadline, .flushThenFinish])
        #expect(state.phase == .flushing)
        #expect(!state.acceptsInput && !state.canWrite)
        Self.check(state.stopInput(), [])
        Self.check(state.finalFlushCompleted(channelActive: true), [.closeOutputAndLinger, .read])
        #expect(state.phase == .lingering)
        Self.check(state.readRequested(writable: false), true, "after the input is done reads only discard")
        #expect(state.inputClosed() == .close)
        Self.check(state.channelInactive(), true)
        Self.check(state.channelInactive(), false)
        #expect(state.phase == .closed)
    }

    @Test("drain with requests in flight: their replies are written, then the connection closes")
    func drainBusy() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1 << 20)
        Self.check(Self.admit(&state), .start)
        Self.check(Self.admit(&state), .start)
        Self.check(state.readRequested(writable: false), false)
        Self.check(state.stopInput(), [.scheduleDrainDeadline, .read])
        #expect(state.phase == .draining)
        #expect(state.canWrite)
        #expect(state.inputClosed() == .stopInput)
        Self.check(Self.answer(&state), .releaseGlobalSlot)
        #expect(state.phase == .draining)
        Self.check(Self.answer(&state), [.releaseGlobalSlot, .flushThenFinish])
        #expect(state.phase == .flushing)
    }

    @Test("the drain deadline closes; replies finishing later are dropped and free their slots")
    func drainDeadline() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1 << 20)
        Self.check(Self.admit(&state), .start)
        Self.check(state.stopInput(), .scheduleDrainDeadline)
        Self.check(state.drainDeadlinePassed(), .close)
        #expect(!state.canWrite)
        Self.check(state.requestFinished(replyBound: 100), .drop(.releaseGlobalSlot))
        #expect(state.inFlight == 0 && state.reservedBytes == 0)
        Self.check(state.finalFlushCompleted(channelActive: true), [])
    }

    @Test("a flush that completes on a channel already gone does not linger")
    func flushOnInactiveChannel() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1 << 20)
        Self.check(state.stopInput(), [.scheduleDrainDeadline, .flushThenFinish])
        Self.check(state.finalFlushCompleted(channelActive: false), [])
        #expect(state.phase == .flushing)
        Self.check(state.channelInactive(), false, "never counted open")
        #expect(state.phase == .closed)
    }

    @Test("the linger deadline and I/O errors close the channel")
    func closes() {
        var lingering = SessionState(maxInFlight: 1, maxReplyBytes: 1)
        _ = lingering.stopInput()
        _ = lingering.finalFlushCompleted(channelActive: true)
        Self.check(lingering.lingerDeadlinePassed(), .close)
        #expect(lingering.phase == .closed)

        var failed = SessionState(maxInFlight: 1, maxReplyBytes: 1)
        Self.check(Self.admit(&failed), .start)
        Self.check(failed.errorCaught(), .close)
        #expect(!failed.acceptsInput && !failed.canWrite)
        Self.check(failed.requestFinished(replyBound: 100), .drop(.releaseGlobalSlot))
    }

    @Test("an error reply still being sent when the input stops: the flush queues behind it, no slot is freed")
    func errorRepliesHoldNoSlot() {
        var state = SessionState(maxInFlight: 1, maxReplyBytes: 1 << 20)
        state.willWrite(bytes: 60)   // a bad-frame error reply
        Self.check(state.stopInput(), .scheduleDrainDeadline.union(.flushThenFinish))
        Self.check(state.replyWritten(bytes: 60, holdsSlot: false, writable: true), [])
        #expect(state.queuedBytes == 0)
    }

    @Test("a reply flushed while the channel is not writable keeps its bytes and slot until it is writable again")
    func heldUntilWritable() {
        var state = SessionState(maxInFlight: 1, maxReplyBytes: 1_000)
        Self.check(Self.admit(&state), .start)
        Self.check(Self.answer(&state, bytes: 80, writable: false), [])
        #expect(state.inFlight == 1 && state.queuedBytes == 80)
        #expect(state.heldSlots == 1 && state.heldBytes == 80)
        Self.check(Self.admit(&state), .refuseBusy)
        // An error reply (no slot) is held too.
        state.willWrite(bytes: 60)
        Self.check(state.replyFlushed(bytes: 60, holdsSlot: false, writable: false), [])
        #expect(state.heldBytes == 140 && state.queuedBytes == 140)
        Self.check(state.readRequested(writable: false), false)
        let taken = state.heldRepliesTaken(writable: true)
        Self.check(taken.actions, .read)
        #expect(taken.globalSlots == 1)
        #expect(state.inFlight == 0 && state.queuedBytes == 0 && state.heldBytes == 0 && state.heldSlots == 0)
        Self.check(Self.admit(&state), .start)
        let none = state.heldRepliesTaken(writable: true)
        Self.check(none.actions, [])
        #expect(none.globalSlots == 0)
    }

    @Test("held replies count against the byte bound and the drain waits for them")
    func heldRepliesAndDrain() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1_000)
        Self.check(Self.admit(&state, bound: 100), .start)
        Self.check(Self.answer(&state, bound: 100, bytes: 950, writable: false), [])
        Self.check(Self.admit(&state, bound: 100), .refuseBusy)
        Self.check(state.stopInput(), .scheduleDrainDeadline)
        #expect(state.phase == .draining)
        let taken = state.heldRepliesTaken(writable: true)
        Self.check(taken.actions, .flushThenFinish)
        #expect(taken.globalSlots == 1)
        #expect(state.phase == .flushing)
    }

    @Test("a closing channel gives back held replies' slots, and counts a reply flushed after it closed as taken")
    func heldRepliesOnClose() {
        var state = SessionState(maxInFlight: 8, maxReplyBytes: 1 << 20)
        state.channelActive()
        Self.check(Self.admit(&state), .start)
        Self.check(Self.admit(&state), .start)
        Self.check(Self.answer(&state, writable: false), [])
        Self.check(state.requestFinished(replyBound: 100), .write)
        state.willWrite(bytes: 80)
        // The flush failed and closed the channel before `replyFlushed` ran.
        Self.check(state.channelInactive(), true)
        let taken = state.heldRepliesTaken(writable: false)
        Self.check(taken.actions, [])
        #expect(taken.globalSlots == 1)
        Self.check(state.replyFlushed(bytes: 80, holdsSlot: true, writable: false), .releaseGlobalSlot)
        #expect(state.inFlight == 0 && state.queuedBytes == 0 && state.heldSlots == 0)
    }
}
