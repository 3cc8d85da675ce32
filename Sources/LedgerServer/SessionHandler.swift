import LedgerWire
import NIOCore

/// One client connection: decodes requests, runs them concurrently (pipelining), writes
/// each reply when it is ready, and refuses bad frames.
///
/// It drives `NIOSingleStepByteToMessageProcessor` itself because NIO's
/// `ByteToMessageHandler` stops after the first decoder error, while a recoverable
/// `WireError` (bad body checksum, bad body size, unknown operation...) concerns one frame
/// only: that frame gets an error reply and decoding goes on. An error whose
/// `code.closesConnection` is true gets its reply and decoding stops. A rejected frame is
/// never executed.
///
/// Closing is in two steps: decoding stops (end of input, a fatal framing error, server
/// shutdown), then the connection closes once every request already accepted has had its
/// reply written (or after the drain timeout, if the peer does not read).
///
/// Backpressure: at most `maxInFlightPerConnection` requests of this connection and
/// `maxInFlightTotal` of the whole server run at once; a request holds its slot until its
/// reply is written to the socket. The reply bytes a connection may have reserved (for
/// requests running) or queued (written, not yet sent) are bounded by
/// `maxQueuedReplyBytesPerConnection`. Beyond any bound a request is answered `busy`, and
/// while the channel is not writable or the reply bytes are over the bound, reading stops.
final class SessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline by `LedgerTCPServer.stop()`: stop decoding, answer what
    /// was accepted, then close.
    struct Drain: Sendable {}

    private let shared: ServerShared
    private var processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .requests))
    /// Requests accepted and not yet written to the socket (each holds a limiter slot).
    private var inFlight = 0
    /// Reply bytes reserved by requests still running (their largest possible reply).
    private var reservedBytes = 0
    /// Reply bytes written to the channel and not yet sent.
    private var queuedBytes = 0
    /// Set once no more input is decoded; the connection closes when `inFlight` is 0.
    private var inputDone = false
    /// Set once the close began or the channel went inactive: nothing more is written.
    private var closed = false
    /// Set once the write side is closed and the socket waits for the client's EOF.
    private var lingering = false
    private var lingerDeadline: Scheduled<Void>?
    /// How long a half-closed connection waits for the client to close its side.
    static let lingerSeconds: Int64 = 2
    private var active = false
    /// A read the pipeline asked for while reading was paused.
    private var pendingRead = false
    /// Closes the connection if draining takes longer than the drain timeout.
    private var drainDeadline: Scheduled<Void>?

    init(shared: ServerShared) {
        self.shared = shared
    }

    private var overReplyBudget: Bool {
        reservedBytes + queuedBytes > shared.maxQueuedReplyBytesPerConnection
    }

    func channelActive(context: ChannelHandlerContext) {
        active = true
        ServerMetrics.bump(shared.metrics.connectionsAccepted)
        ServerMetrics.bump(shared.metrics.connectionsOpen)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if active {
            active = false
            ServerMetrics.bump(shared.metrics.connectionsOpen, by: -1)
        }
        inputDone = true
        closed = true
        drainDeadline?.cancel()
        drainDeadline = nil
        lingerDeadline?.cancel()
        lingerDeadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !inputDone else { return }
        let input = unwrapInboundIn(data)
        shared.metrics.received(input.readableBytes)
        decode(context: context, input: input, seenEOF: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            if lingering {
                // Replies sent and the client closed its side: close the socket.
                context.close(promise: nil)
                return
            }
            // The client finished sending: a partial frame left over is truncated.
            if !inputDone { decode(context: context, input: nil, seenEOF: true) }
            stopInput(context: context)
            return
        }
        if event is Drain {
            stopInput(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if inputDone || (context.channel.isWritable && !overReplyBudget) {
            // After the input is done, reads only discard (and notice a peer that went away).
            context.read()
        } else {
            pendingRead = true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An I/O error: the connection is unusable, close it now.
        inputDone = true
        closed = true
        context.close(promise: nil)
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        if pendingRead && (inputDone || (context.channel.isWritable && !overReplyBudget)) {
            pendingRead = false
            context.read()
        }
    }

    /// Feeds bytes to the processor (or finishes it at EOF), handling every message and
    /// every decode error. After a recoverable error, decoding resumes after that frame.
    private func decode(context: ChannelHandlerContext, input: ByteBuffer?, seenEOF: Bool?) {
        var next = input
        while !inputDone {
            do {
                if let buffer = next {
                    try processor.process(buffer: buffer) { message in handle(message, context: context) }
                } else {
                    try processor.finishProcessing(seenEOF: seenEOF ?? false) { message in
                        handle(message, context: context)
                    }
                }
                return
            } catch let error as WireError {
                ServerMetrics.bump(shared.metrics.badFrames)
                sendError(ErrorReply(error), context: context)
                if error.code.closesConnection {
                    stopInput(context: context)
                    return
                }
                // Resume after the rejected frame with what is already buffered.
                if next != nil { next = context.channel.allocator.buffer(capacity: 0) }
            } catch {
                sendError(
                    ErrorReply(requestId: 0, operation: 0, rawCode: WireError.Code.internalError.rawValue,
                               message: "decoder failed: \(error)"),
                    context: context)
                stopInput(context: context)
                return
            }
        }
    }

    /// The largest reply `request` can get, in bytes (records are at most 128 bytes).
    private static func replyBound(_ request: Request) -> Int {
        let records: Int
        switch request {
        case .getAccountTransfers(let f), .getAccountBalances(let f): records = Int(f.limit)
        case .queryAccounts(let f), .queryTransfers(let f): records = Int(f.limit)
        default: records = request.eventCount
        }
        return min(WireLimits.maxMessageSize, WireLimits.headerSize + WireLimits.maxErrorTextSize + records * 128)
    }

    private func handle(_ message: Message, context: ChannelHandlerContext) {
        guard !inputDone else { return }
        guard case .request(let id, let request) = message else {
            // The decoder accepts requests only; keep the check for safety.
            sendError(
                ErrorReply(requestId: message.requestId, operation: 0,
                           rawCode: WireError.Code.invalidHeader.rawValue, message: "servers accept requests only"),
                context: context)
            return
        }
        let op = request.operation.rawValue
        let bound = Self.replyBound(request)
        // Always admit one request when nothing is pending, so that any request can run.
        let fits = inFlight == 0 || reservedBytes + queuedBytes + bound <= shared.maxQueuedReplyBytesPerConnection
        guard fits, inFlight < shared.maxInFlightPerConnection, shared.limiter.tryAcquire() else {
            if shared.stopping {
                refuseShuttingDown(id: id, op: op, context: context)
                return
            }
            ServerMetrics.bump(shared.metrics.busyReplies)
            sendError(
                ErrorReply(requestId: id, operation: op, rawCode: WireError.Code.busy.rawValue,
                           message: "too many requests in flight; retry later"),
                context: context)
            return
        }
        // The slot is taken before `stopping` is checked, so that `stop()` either sees this
        // request in flight or this request sees `stopping`.
        if shared.stopping {
            shared.limiter.release()
            refuseShuttingDown(id: id, op: op, context: context)
            return
        }
        inFlight += 1
        reservedBytes += bound
        ServerMetrics.bump(shared.metrics.requestsStarted)
        let ledger = shared.ledger
        let started = NIODeadline.now()
        let answer = context.eventLoop.makeFutureWithTask {
            await RequestExecutor.answer(request, id: id, ledger: ledger)
        }
        answer.assumeIsolated().whenSuccess { reply in
            self.shared.metrics.answered(request, reply: reply, nanoseconds: (NIODeadline.now() - started).nanoseconds)
            self.finished(reply, request: request, bound: bound, context: context)
        }
    }

    private func refuseShuttingDown(id: UInt64, op: UInt8, context: ChannelHandlerContext) {
        sendError(
            ErrorReply(requestId: id, operation: op, rawCode: WireError.Code.shuttingDown.rawValue,
                       message: "the server is shutting down"),
            context: context)
        stopInput(context: context)
    }

    private func finished(_ reply: Message, request: Request, bound: Int, context: ChannelHandlerContext) {
        reservedBytes -= bound
        if case .reply = reply, request.operation == .createAccounts || request.operation == .createTransfers {
            ServerMetrics.bump(shared.metrics.eventsCreated, by: request.eventCount)
        }
        guard !closed else {
            releaseSlot(context: context)
            return
        }
        var out = context.channel.allocator.buffer(capacity: 64)
        do {
            try MessageEncoding.encode(reply, into: &out)
        } catch {
            out.clear()
            let e = ErrorReply(error)
            MessageEncoding.encode(e, into: &out)
            ServerMetrics.bump(shared.metrics.errorReplies)
            write(out, holdsSlot: true, context: context)
            return
        }
        if case .errorReply(let e) = reply {
            ServerMetrics.bump(shared.metrics.errorReplies)
            write(out, holdsSlot: true, context: context)
            if e.code?.closesConnection == true { stopInput(context: context) }
        } else {
            ServerMetrics.bump(shared.metrics.repliesSent)
            write(out, holdsSlot: true, context: context)
        }
    }

    private func sendError(_ error: ErrorReply, context: ChannelHandlerContext) {
        guard !closed else { return }
        ServerMetrics.bump(shared.metrics.errorReplies)
        shared.metrics.errorReply(code: error.rawCode)
        var out = context.channel.allocator.buffer(capacity: WireLimits.headerSize + error.message.utf8.count)
        MessageEncoding.encode(error, into: &out)
        write(out, holdsSlot: false, context: context)
    }

    /// Writes and flushes one reply; its bytes count as queued until the write completes,
    /// and a request's slot is released only then.
    private func write(_ out: ByteBuffer, holdsSlot: Bool, context: ChannelHandlerContext) {
        let size = out.readableBytes
        shared.metrics.sent(size)
        queuedBytes += size
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.queuedBytes -= size
            if holdsSlot { self.releaseSlot(context: context) }
            self.resumeReadingIfPossible(context: context)
        }
        context.writeAndFlush(wrapOutboundOut(out), promise: promise)
    }

    private func releaseSlot(context: ChannelHandlerContext) {
        inFlight -= 1
        shared.limiter.release()
        closeIfDrained(context: context)
    }

    /// Stops decoding; the connection closes once the accepted requests are answered.
    private func stopInput(context: ChannelHandlerContext) {
        guard !inputDone else { return }
        inputDone = true
        // Give up on a peer that does not take its replies.
        let timeout = TimeAmount.seconds(Int64(shared.drainTimeoutSeconds))
        drainDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.closed = true
            if context.channel.isActive { context.close(promise: nil) }
        }
        closeIfDrained(context: context)
        resumeReadingIfPossible(context: context)
    }

    /// Once decoding stopped and nothing is in flight: closes after the replies already
    /// written are sent (a write still queued would otherwise be dropped by the close).
    private func closeIfDrained(context: ChannelHandlerContext) {
        guard inputDone, inFlight == 0, !closed else { return }
        closed = true
        let flushed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: flushed)
        flushed.futureResult.assumeIsolated().whenComplete { _ in self.lingeringClose(context: context) }
    }

    /// Closes in two steps, as HTTP servers do: first the write side (the client reads
    /// every reply, then EOF), then the whole socket once the client closes its side or
    /// `lingerSeconds` pass. Closing at once with unread client bytes in the socket would
    /// send a reset, and a reset can make the client's kernel drop replies it had already
    /// received but its application had not read yet.
    private func lingeringClose(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        lingering = true
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: halfClosed)
        halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        lingerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Self.lingerSeconds)) {
            if context.channel.isActive { context.close(promise: nil) }
        }
        // Reads go on (and discard) so the client's bytes do not pile up unread.
        context.read()
    }
}
