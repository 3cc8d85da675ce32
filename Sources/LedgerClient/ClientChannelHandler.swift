import LedgerCore
import LedgerWire
import NIOCore

/// The client end of one connection, on its event loop: numbers and writes requests,
/// decodes replies, matches them by request id (pipelining), times requests out (one
/// timer for all of them), and completes each request's `ReplyWaiter`.
///
/// Any reply it cannot trust (undecodable, unknown id, wrong operation or count) fails
/// every request in flight with `invalidReply` and closes the connection; an error
/// reply for the whole stream (request id 0) or one that closes the connection fails
/// the others with `connectionFailed` (retryable). Late replies and late error replies
/// (to requests that already timed out) are ignored. After a timeout the connection
/// takes no new request and closes once its requests in flight are settled. Nothing
/// here traps.
final class ClientChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    /// A request waiting for its reply.
    private struct Pending {
        var operation: UInt8
        var eventCount: Int
        var waiter: ReplyWaiter
        /// When it times out, on the event loop's clock.
        var deadline: NIODeadline
    }

    // The properties marked `@exclusivity(unchecked)` are read or changed once or more per
    // request, always on the channel's event loop (handler callbacks, and `submitAndFlush`,
    // which `Connection` reaches through a `NIOLoopBound` only), and every access is a
    // short load, store or table/optional operation that calls nothing which could
    // reach the handler again (waiters are completed after the access ends, and completing
    // one only enqueues its caller's task). Two accesses never overlap, so the dynamic
    // exclusivity checks (about 80 instructions each) are off for them; the compiler's
    // static checks still apply.
    @exclusivity(unchecked) private var pending = PendingTable<Pending>()
    @exclusivity(unchecked) private var nextId: UInt64 = 1
    private let processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .replies))
    /// Set once the connection is unusable; later writes fail with it.
    @exclusivity(unchecked) private var failure: KaminoClientError?
    /// Set once a request timed out: the server may be stopped or cut off, so the
    /// connection takes no new request and closes when nothing is pending.
    @exclusivity(unchecked) private var retiring = false
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    /// The one timer of the connection, armed for the earliest deadline of a pending
    /// request (or earlier): a timer per request would cost allocations and a linear
    /// cancellation in the event loop's timer queue for every reply.
    @exclusivity(unchecked) private var timer: Scheduled<Void>?
    /// When `timer` fires; nil when it is not armed.
    @exclusivity(unchecked) private var timerDeadline: NIODeadline?
    /// The bytes of the last drain's requests, kept so that the next drain reuses the
    /// storage (no allocation) once the socket has taken them.
    @exclusivity(unchecked) private var outBuffer: ByteBuffer?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(KaminoClientError(.connectionFailed, "connection closed").afterSending())
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let out = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: 48 + out.request.eventCount * 128)
        if let e = submit(out, into: &buffer, context: context) {
            promise?.fail(e)
            return
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    /// Writes `requests` in one buffer and flushes once: what `Connection` hands over
    /// directly, without going through the pipeline. Must run on the channel's event loop.
    func submitAndFlush(_ requests: [OutboundRequest]) {
        guard let context else {
            let e = KaminoClientError(.connectionFailed, "the connection is closed")
            for out in requests { out.waiter.complete(.failure(e)) }
            return
        }
        // Taken out of `outBuffer`, so that `clear()` finds its storage unique (and reuses
        // it) when the socket has taken the bytes of the last drain.
        var buffer = outBuffer.take() ?? context.channel.allocator.buffer(capacity: 4096)
        buffer.clear()
        for out in requests { _ = submit(out, into: &buffer, context: context) }
        if buffer.readableBytes > 0 {
            context.write(wrapOutboundOut(buffer), promise: nil)
            context.flush()
        }
        if buffer.capacity <= Self.keptBufferCapacity { outBuffer = buffer }
    }

    /// The largest outbound buffer kept between drains.
    private static let keptBufferCapacity = 64 * 1024

    /// Numbers and appends one request to `buffer`, and registers it as pending. Returns
    /// the error it completed the request's waiter with instead (nothing appended) when
    /// the connection takes no new request or the request cannot be encoded.
    private func submit(
        _ out: OutboundRequest, into buffer: inout ByteBuffer, context: ChannelHandlerContext
    ) -> KaminoClientError? {
        if let failure {
            // Never sent, so safe to retry on a new connection.
            let e = KaminoClientError(.connectionFailed, "the connection is closing: \(failure.message)")
            out.waiter.complete(.failure(e))
            return e
        }
        if retiring {
            // Never sent, so safe to retry on a new connection.
            let e = KaminoClientError(.connectionFailed, "the connection is retired (after a timeout or a redirect)")
            out.waiter.complete(.failure(e))
            return e
        }
        let id = nextId
        nextId &+= 1
        let mark = buffer.writerIndex
        do {
            try MessageEncoding.encode(out.request, id: id, into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: mark)
            let e = KaminoClientError(.invalidArgument, error.description)
            out.waiter.complete(.failure(e))
            return e
        }
        let deadline = context.eventLoop.now + out.timeout
        pending.insert(
            Pending(operation: out.request.code, eventCount: out.request.eventCount, waiter: out.waiter, deadline: deadline),
            id: id)
        armTimer(for: deadline, context: context)
        return nil
    }

    /// Makes the timer fire no later than `deadline`.
    private func armTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        if let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired()
        }
    }

    /// Times out every request whose deadline has passed, then re-arms the timer for the
    /// earliest remaining deadline.
    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard let context else { return }
        let now = context.eventLoop.now
        var expired: [UInt64] = []
        var earliest: NIODeadline?
        // In the order they were sent (the table's order), so that callers see them fail in
        // that order.
        pending.visitInOrder { id, p in
            if p.deadline <= now {
                expired.append(id)
            } else {
                earliest = min(earliest ?? p.deadline, p.deadline)
            }
        }
        for id in expired { timedOut(id) }
        if let earliest, failure == nil { armTimer(for: earliest, context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        do {
            try processor.process(buffer: unwrapInboundIn(data)) { message in
                try handle(message)
            }
        } catch let error as KaminoClientError {
            drop(error)
        } catch {
            drop(KaminoClientError(.invalidReply, "unreadable reply: \(error)"))
        }
    }

    /// Sent by `Connection.retire()`: take no new request, close once idle.
    struct Retire: Sendable {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Retire else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        retiring = true
        closeIfRetiredAndIdle()
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KaminoClientError(.connectionFailed, "the server closed the connection").afterSending())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        drop(KaminoClientError(.connectionFailed, "connection error: \(error)").afterSending())
    }

    /// Routes one decoded message to its request; throws to drop the connection.
    private func handle(_ message: Message) throws(KaminoClientError) {
        switch message {
        case .reply(let id, let reply, let stateLSN):
            guard let p = pending.remove(id) else {
                // A late reply to a request that timed out is harmless; an id never sent is not.
                guard id != 0, id < nextId else {
                    throw KaminoClientError(.invalidReply, "reply to unknown request id \(id)")
                }
                return
            }
            guard ReplyCheck.matches(reply, operation: p.operation, eventCount: p.eventCount) else {
                let e = KaminoClientError(
                    .invalidReply, "reply to operation \(reply.code) with \(reply.recordCount) records does not answer request \(id)")
                p.waiter.complete(.failure(e))
                throw e
            }
            p.waiter.complete(.success(AnsweredReply(reply: reply, stateLSN: stateLSN)))
            closeIfRetiredAndIdle()
        case .errorReply(let e):
            let code = ServerErrorCode(rawValue: e.rawCode)
            var error = KaminoClientError(.serverError(code), "server error \(e.rawCode) (\(code)): \(e.message)")
            if code == .notPrimary {
                // The body's first line names the primary (empty when the node does not know it).
                let first = e.message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                error.primaryAddress = first.isEmpty ? nil : String(first)
            }
            // The protocol's codes whose request's outcome is unknown. `log_unavailable` is
            // unknown only on a replicated node, which the client cannot tell apart: it
            // says "may have executed" for both (as the Python client does).
            if code == .replicationTimeout || code == .internalError || code == .logUnavailable {
                error.mayHaveExecuted = true
            }
            guard e.requestId != 0 else {
                // About the stream as a whole: framing is lost. The other requests were
                // sent but not answered, so they may be retried elsewhere.
                throw KaminoClientError(.connectionFailed, "\(error.message) (for the whole connection)").afterSending()
            }
            guard let p = pending.remove(e.requestId) else {
                // A late error reply to a request that timed out is harmless; an id never
                // sent is not.
                guard e.requestId < nextId else {
                    throw KaminoClientError(.invalidReply, "error reply to unknown request id \(e.requestId)")
                }
                return
            }
            p.waiter.complete(.failure(error))
            // `busy` and `shutting_down` concern only their own request (retryable); the
            // server closes the connection itself if it must.
            let onlyThisRequest = e.code == .busy || e.code == .shuttingDown
            if !onlyThisRequest, e.code?.closesConnection == true {
                throw KaminoClientError(.connectionFailed, error.message).afterSending()
            }
            closeIfRetiredAndIdle()
        case .request:
            throw KaminoClientError(.invalidReply, "the server sent a request")
        }
    }

    private func timedOut(_ id: UInt64) {
        guard let p = pending.remove(id) else { return }
        // Retire before waking the caller, so that its retry never writes here.
        retiring = true
        closeIfRetiredAndIdle()
        p.waiter.complete(.failure(KaminoClientError(.timeout, "no reply to request \(id) in time").afterSending()))
    }

    /// Closes a retired connection once no request is pending on it.
    private func closeIfRetiredAndIdle() {
        guard retiring, pending.isEmpty, failure == nil else { return }
        failure = KaminoClientError(.connectionFailed, "the connection is retired (after a timeout or a redirect)")
        context?.close(promise: nil)
    }

    /// Closes the channel, then fails everything that was in flight with `error`.
    ///
    /// Closing first means that a caller woken by the failure never finds this
    /// connection still active.
    private func drop(_ error: KaminoClientError) {
        let all = takeAll(error)
        context?.close(promise: nil)
        fail(all, error)
    }

    private func failAll(_ error: KaminoClientError) {
        fail(takeAll(error), error)
    }

    /// Marks the connection unusable and removes every pending request.
    private func takeAll(_ error: KaminoClientError) -> [Pending] {
        if failure == nil { failure = error }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        return pending.removeAll()
    }

    private func fail(_ all: [Pending], _ error: KaminoClientError) {
        for p in all {
            p.waiter.complete(.failure(error))
        }
    }
}
