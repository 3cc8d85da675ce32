/// The state of one client connection as a pure state machine: `SessionHandler` reports
/// what happened (a request decoded, a reply written, end of input, a deadline passed...)
/// and executes the actions each event returns. It knows nothing of NIO, so every path,
/// including shutdown and the bounds, is tested without a socket (`SessionStateTests`).
///
/// The connection goes through these phases, never back:
///
///     open --(end of input, fatal frame, shutdown)--> draining
///     draining --(nothing in flight)--> flushing --(flush done)--> lingering
///     any --(channel inactive, I/O error, drain deadline)--> closed
///
/// - `open`: requests are decoded and admitted (or answered `busy`).
/// - `draining`: no more input is decoded; requests already accepted get their replies.
/// - `flushing`: the last replies are being flushed; nothing more is written.
/// - `lingering`: the write side is closed; the socket waits for the client's EOF (or the
///   linger deadline) so that unread client bytes do not turn the close into a reset.
/// - `closed`: the channel is closing or closed; nothing more is written.
///
/// Bounds (`busy` in docs/protocol.md): at most `maxInFlight` requests of this
/// connection run at once, and the reply bytes reserved by running requests (their largest
/// possible reply) plus those written and not yet taken by the channel stay under
/// `maxReplyBytes`, except that one request is always admitted when none is in flight.
/// Reading pauses while the channel is not writable or the reply bytes are over the bound.
///
/// The channel takes a reply when, after its flush, the channel is still writable: the
/// socket took it, or what waits in the channel's own buffer is under its high water mark
/// (NIO's writability). A reply flushed while the channel is not writable is held: its
/// bytes stay queued and its request keeps its slots until the channel is writable again
/// (its buffer drained under the low water mark) or closes. So the bytes of one connection
/// are at most `maxReplyBytes` plus the channel's high water mark, with no promise and no
/// callback per reply.
package struct SessionState: Sendable {
    /// Where the connection is in its life; see the type's documentation.
    package enum Phase: Sendable, Equatable {
        case open, draining, flushing, lingering, closed
    }

    /// What the handler must do after an event, executed in the order the options are
    /// declared here.
    package struct Actions: OptionSet, Sendable, Equatable, CustomStringConvertible {
        package let rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Give back one slot of the server-wide in-flight limiter.
        package static let releaseGlobalSlot = Actions(rawValue: 1 << 0)
        /// Schedule `drainDeadlinePassed()` after the drain timeout.
        package static let scheduleDrainDeadline = Actions(rawValue: 1 << 1)
        /// Flush what was written, then report `finalFlushCompleted`.
        package static let flushThenFinish = Actions(rawValue: 1 << 2)
        /// Close the write side and schedule `lingerDeadlinePassed()`.
        package static let closeOutputAndLinger = Actions(rawValue: 1 << 3)
        /// Ask the channel for more input.
        package static let read = Actions(rawValue: 1 << 4)
        /// Close the whole channel (if it is still open).
        package static let close = Actions(rawValue: 1 << 5)

        package var description: String {
            let names: [(Actions, String)] = [
                (.releaseGlobalSlot, "releaseGlobalSlot"), (.scheduleDrainDeadline, "scheduleDrainDeadline"),
                (.flushThenFinish, "flushThenFinish"), (.closeOutputAndLinger, "closeOutputAndLinger"),
                (.read, "read"), (.close, "close"),
            ]
            return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
        }
    }

    /// The answer to a decoded request.
    package enum Admission: Sendable, Equatable {
        /// Run it; it holds a slot of this connection and one of the server until its reply
        /// is written (`replyWritten(holdsSlot: true)`) or dropped (`requestFinished`).
        case start
        /// Answer `busy`; nothing was taken.
        case refuseBusy
        /// Answer `shutting_down`, then call `stopInput()`. When `releaseGlobalSlot` is
        /// true, the server-wide slot taken for it must be given back first.
        case refuseShuttingDown(releaseGlobalSlot: Bool)
    }

    /// What to do with the reply of a request that finished running.
    package enum ReplyDisposition: Sendable, Equatable {
        /// Encode and write it (`willWrite`, then `replyWritten(holdsSlot: true)`).
        case write
        /// The connection is closing: drop it and execute these actions.
        case drop(Actions)
    }

    /// What to do when the client closes its side of the connection.
    package enum InputClosedAction: Sendable, Equatable {
        /// Lingering: the client read everything; close the socket.
        case close
        /// Decode what is buffered as if at end of input (a partial frame is truncated),
        /// then call `stopInput()`.
        case finishDecoding
        /// Decoding had already stopped: call `stopInput()` (it does nothing).
        case stopInput
    }

    /// Where the connection is.
    package private(set) var phase: Phase = .open
    /// Requests accepted and not yet written to the socket (each holds a global slot).
    package private(set) var inFlight = 0
    /// Reply bytes reserved by requests still running (their largest possible reply).
    package private(set) var reservedBytes = 0
    /// Reply bytes written to the channel and not yet taken by it (see the type's
    /// documentation), held replies' included.
    package private(set) var queuedBytes = 0
    /// Bytes of the replies flushed while the channel was not writable (part of
    /// `queuedBytes`), taken by `heldRepliesTaken`.
    package private(set) var heldBytes = 0
    /// Requests whose replies are held (part of `inFlight`).
    package private(set) var heldSlots = 0
    /// A read the pipeline asked for while reading was paused.
    package private(set) var pendingRead = false
    /// True between `channelActive` and `channelInactive` (counts the open connection once).
    package private(set) var active = false

    /// The most requests of this connection in flight at once (at least 1).
    package let maxInFlight: Int
    /// The bound on reserved plus queued reply bytes (at least 1).
    package let maxReplyBytes: Int

    package init(maxInFlight: Int, maxReplyBytes: Int) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxReplyBytes = max(1, maxReplyBytes)
    }

    /// True while input is decoded (messages decoded after it turns false are ignored).
    package var acceptsInput: Bool { phase == .open }

    /// True while replies may be written.
    package var canWrite: Bool { phase == .open || phase == .draining }

    private var overReplyBudget: Bool { reservedBytes + queuedBytes > maxReplyBytes }

    private func mayRead(writable: Bool) -> Bool {
        !acceptsInput || (writable && !overReplyBudget)
    }

    // MARK: Channel events

    /// The channel became active.
    package mutating func channelActive() {
        active = true
    }

    /// The channel went inactive: nothing more is written. Returns true when the connection
    /// was counted as open by `channelActive` (count it closed once). The handler cancels
    /// its deadlines.
    package mutating func channelInactive() -> Bool {
        let wasActive = active
        active = false
        phase = .closed
        return wasActive
    }

    /// An I/O error: the connection is unusable.
    package mutating func errorCaught() -> Actions {
        phase = .closed
        return .close
    }

    /// The pipeline asks for input. Returns true when the handler should read now; otherwise
    /// the read is remembered and issued by a later `.read` action. After the input is done,
    /// reads only discard (and notice a peer that went away).
    package mutating func readRequested(writable: Bool) -> Bool {
        if mayRead(writable: writable) { return true }
        pendingRead = true
        return false
    }

    /// The channel's writability changed.
    package mutating func writabilityChanged(writable: Bool) -> Actions {
        resumeReading(writable: writable)
    }

    /// The client closed its side of the connection.
    package func inputClosed() -> InputClosedAction {
        if phase == .lingering { return .close }
        return acceptsInput ? .finishDecoding : .stopInput
    }

    // MARK: Requests and replies

    /// A request was decoded; its largest possible reply is `replyBound` bytes.
    ///
    /// Order matters and is kept here: the server-wide slot is taken (`acquireGlobalSlot`)
    /// before `serverStopping` is read, so that `LedgerTCPServer.stop()`, which sets the
    /// flag and then waits for the limiter, either sees this request in flight or this
    /// request sees the flag. `acquireGlobalSlot` is called only when this connection's
    /// own bounds admit the request.
    package mutating func requestDecoded(
        replyBound: Int, acquireGlobalSlot: () -> Bool, serverStopping: () -> Bool
    ) -> Admission {
        precondition(acceptsInput, "a request decoded after the input stopped")
        precondition(replyBound > 0, "a reply has at least a header")
        // Always admit one request when nothing is pending, so that any request can run.
        let fits = inFlight == 0 || reservedBytes + queuedBytes + replyBound <= maxReplyBytes
        guard fits, inFlight < maxInFlight, acquireGlobalSlot() else {
            return serverStopping() ? .refuseShuttingDown(releaseGlobalSlot: false) : .refuseBusy
        }
        if serverStopping() { return .refuseShuttingDown(releaseGlobalSlot: true) }
        inFlight += 1
        reservedBytes += replyBound
        return .start
    }

    /// A request started by `requestDecoded` finished running; its reservation ends.
    package mutating func requestFinished(replyBound: Int) -> ReplyDisposition {
        precondition(inFlight > 0 && reservedBytes >= replyBound, "a request finished that never started")
        reservedBytes -= replyBound
        guard canWrite else { return .drop(releaseSlot()) }
        return .write
    }

    /// `bytes` are about to be written; they count as queued until `replyWritten`. Call it
    /// only when `canWrite`.
    package mutating func willWrite(bytes: Int) {
        precondition(canWrite, "a write after the connection began to close")
        queuedBytes += bytes
    }

    /// A reply of `bytes` was written and flushed; `writable` is the channel's writability
    /// right after. A writable channel took it: `replyWritten`. Otherwise it is held until
    /// `heldRepliesTaken` (on a closing connection it counts as taken at once: nothing will
    /// be sent, and no later event would give its slot back).
    package mutating func replyFlushed(bytes: Int, holdsSlot: Bool, writable: Bool) -> Actions {
        guard writable || phase == .closed else {
            precondition(queuedBytes >= heldBytes + bytes, "a held reply that was never queued")
            heldBytes += bytes
            if holdsSlot { heldSlots += 1 }
            precondition(heldSlots <= inFlight, "more held replies than requests in flight")
            return []
        }
        return replyWritten(bytes: bytes, holdsSlot: holdsSlot, writable: writable)
    }

    /// The channel took a reply of `bytes`. When `holdsSlot`, it was the reply of an
    /// accepted request, whose slots are given back now.
    package mutating func replyWritten(bytes: Int, holdsSlot: Bool, writable: Bool) -> Actions {
        precondition(queuedBytes - heldBytes >= bytes, "more bytes written than queued")
        queuedBytes -= bytes
        var actions: Actions = []
        if holdsSlot { actions.formUnion(releaseSlot()) }
        actions.formUnion(resumeReading(writable: writable))
        return actions
    }

    /// The channel became writable again, or went inactive (`writable` false): it took the
    /// held replies. Returns the actions (never `.releaseGlobalSlot`) and how many
    /// server-wide slots to give back, one per held request.
    package mutating func heldRepliesTaken(writable: Bool) -> (actions: Actions, globalSlots: Int) {
        guard heldBytes > 0 || heldSlots > 0 else { return ([], 0) }
        precondition(queuedBytes >= heldBytes && inFlight >= heldSlots, "held replies beyond what is queued")
        queuedBytes -= heldBytes
        heldBytes = 0
        let slots = heldSlots
        heldSlots = 0
        inFlight -= slots
        var actions: Actions = slots > 0 ? closeIfDrained() : []
        if phase != .closed { actions.formUnion(resumeReading(writable: writable)) }
        return (actions, slots)
    }

    // MARK: Closing

    /// Stops decoding (end of input, a fatal frame, a reply that closes the connection,
    /// server shutdown); the connection closes once the accepted requests are answered, or
    /// at the drain deadline if the peer does not take its replies. Does nothing the second
    /// time.
    package mutating func stopInput() -> Actions {
        guard acceptsInput else { return [] }
        phase = .draining
        var actions: Actions = .scheduleDrainDeadline
        actions.formUnion(closeIfDrained())
        actions.formUnion(resumeReading(writable: true))
        return actions
    }

    /// The flush asked for by `.flushThenFinish` completed: close in two steps, as HTTP
    /// servers do (the write side now, the socket once the client closes its side).
    package mutating func finalFlushCompleted(channelActive: Bool) -> Actions {
        guard phase == .flushing, channelActive else { return [] }
        phase = .lingering
        // Reads go on (and discard) so the client's bytes do not pile up unread.
        return [.closeOutputAndLinger, .read]
    }

    /// The drain deadline passed: give up on a peer that does not take its replies.
    package mutating func drainDeadlinePassed() -> Actions {
        phase = .closed
        return .close
    }

    /// The linger deadline passed: the client did not close its side in time.
    package mutating func lingerDeadlinePassed() -> Actions {
        phase = .closed
        return .close
    }

    // MARK: Helpers

    private mutating func releaseSlot() -> Actions {
        precondition(inFlight > 0, "a slot released twice")
        inFlight -= 1
        return closeIfDrained().union(.releaseGlobalSlot)
    }

    /// Once decoding stopped and nothing is in flight: flush the replies already written,
    /// then close (a write still queued would otherwise be dropped by the close).
    private mutating func closeIfDrained() -> Actions {
        guard phase == .draining, inFlight == 0 else { return [] }
        phase = .flushing
        return .flushThenFinish
    }

    private mutating func resumeReading(writable: Bool) -> Actions {
        guard pendingRead, mayRead(writable: writable) else { return [] }
        pendingRead = false
        return .read
    }
}
