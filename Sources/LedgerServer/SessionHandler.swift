import KaminoAuth
import KaminoTLS
import LedgerCore
import LedgerEngine
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
/// Every decision (admission and `busy`, pausing reads, when to stop decoding, drain,
/// half-close and close) is taken by `SessionState`, a pure state machine; this handler
/// reports channel events to it and executes the actions it returns: decoding, encoding,
/// writes, the server-wide limiter, the metrics and the deadlines.
///
/// Backpressure: at most `maxInFlightPerConnection` requests of this connection and
/// `maxInFlightTotal` of the whole server run at once; a request holds its slot until the
/// channel takes its reply (see `SessionState`: at once while the channel stays writable).
/// Reply bytes are bounded per connection (`maxQueuedReplyBytesPerConnection`); beyond any
/// bound a request is answered `busy`.
final class SessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline by `LedgerTCPServer.stop()`: stop decoding, answer what
    /// was accepted, then close.
    struct Drain: Sendable {}

    /// How long a half-closed connection waits for the client to close its side.
    static let lingerSeconds: Int64 = 2

    private let shared: ServerShared
    private let processor = NIOSingleStepByteToMessageProcessor(ReceivedMessageDecoder(accepting: .requests))
    // The properties marked `@exclusivity(unchecked)` are read or changed several times per
    // request (12 dynamic exclusivity checks in all, about 75 instructions each). Their
    // accesses cannot overlap: the handler runs on its event loop only, the references and
    // the allocator are only read and replaced, and no `SessionState` method calls back
    // into the handler (the closures `requestDecoded` takes touch `shared` only). So the
    // dynamic checks are off for them; the compiler's static checks still apply.
    @exclusivity(unchecked) private var state: SessionState
    /// Closes the connection if draining takes longer than the drain timeout.
    private var drainDeadline: Scheduled<Void>?
    /// Closes a half-closed connection whose client does not close its side.
    private var lingerDeadline: Scheduled<Void>?
    /// This connection's loop's write coalescer (taken on the first create request).
    @exclusivity(unchecked) private var coalescer: WriteCoalescer?
    /// Authentication and limits of this connection (made when it becomes active).
    @exclusivity(unchecked) private var security: SessionSecurity?
    /// The channel's allocator, taken when it becomes active (the channel's getter costs
    /// about 110 instructions per reply).
    @exclusivity(unchecked) private var allocator = ByteBufferAllocator()
    /// True while `channelRead` decodes, or while the write coalescer answers a
    /// connection's requests of a record but the last (`answered(flush: false)`): replies
    /// are written without a flush, and the read's end (or the last reply's
    /// `writeAndFlush`) flushes them all at once (one `write` system call for the replies
    /// of one read, or of one record, instead of one per reply). Their slots and bytes are
    /// accounted as before: the channel's writability counts written bytes whether flushed
    /// or not.
    @exclusivity(unchecked) private var holdFlush = false
    /// A reply was written while `holdFlush` was true and not flushed yet.
    @exclusivity(unchecked) private var unflushed = false

    init(shared: ServerShared) {
        self.shared = shared
        self.state = SessionState(
            maxInFlight: shared.maxInFlightPerConnection, maxReplyBytes: shared.maxQueuedReplyBytesPerConnection)
    }

    func channelActive(context: ChannelHandlerContext) {
        allocator = context.channel.allocator
        state.channelActive()
        ServerMetrics.bump(shared.metrics.connectionsAccepted)
        ServerMetrics.bump(shared.metrics.connectionsOpen)
        let security = SessionSecurity(shared: shared.security, peer: SecurityShared.peerAddress(context.channel))
        self.security = security
        security.opened(context: context) { [unowned self] reply in
            self.sendError(reply, context: context)
            self.execute(self.state.stopInput(), context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state.channelInactive() {
            ServerMetrics.bump(shared.metrics.connectionsOpen, by: -1)
        }
        releaseHeldReplies(writable: false, context: context)
        drainDeadline?.cancel()
        drainDeadline = nil
        security?.closed()
        lingerDeadline?.cancel()
        lingerDeadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state.acceptsInput else { return }
        let input = unwrapInboundIn(data)
        shared.metrics.received(input.readableBytes)
        holdFlush = true
        decode(context: context, input: input, seenEOF: nil)
        holdFlush = false
        flushWritten(context: context)
        security?.afterRead(partial: processor.unprocessedBytes > 0, context: context)
    }

    /// Flushes the replies `write` left unflushed while `holdFlush` was true.
    private func flushWritten(context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            switch state.inputClosed() {
            case .close:
                context.close(promise: nil)
            case .finishDecoding:
                decode(context: context, input: nil, seenEOF: true)
                execute(state.stopInput(), context: context)
            case .stopInput:
                execute(state.stopInput(), context: context)
            }
            return
        }
        if event is Drain {
            execute(state.stopInput(), context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        if writable { releaseHeldReplies(writable: true, context: context) }
        execute(state.writabilityChanged(writable: writable), context: context)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if state.readRequested(writable: context.channel.isWritable) {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An I/O error: the connection is unusable, close it now.
        if let tls = error as? TLSError { security?.tlsFailed(tls) }
        execute(state.errorCaught(), context: context)
    }

    /// Carries out `actions` in the order `SessionState.Actions` declares them.
    private func execute(_ actions: SessionState.Actions, context: ChannelHandlerContext) {
        // Replies written during this read leave before any close (a close drops unflushed writes).
        if actions.contains(.close) || actions.contains(.closeOutputAndLinger) { flushWritten(context: context) }
        if actions.contains(.releaseGlobalSlot) {
            shared.limiter.release()
        }
        if actions.contains(.scheduleDrainDeadline) {
            let timeout = TimeAmount.seconds(Int64(shared.drainTimeoutSeconds))
            drainDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                self.execute(self.state.drainDeadlinePassed(), context: context)
            }
        }
        if actions.contains(.flushThenFinish) {
            let flushed = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: flushed)
            flushed.futureResult.assumeIsolated().whenComplete { _ in
                self.execute(self.state.finalFlushCompleted(channelActive: context.channel.isActive), context: context)
            }
        }
        if actions.contains(.closeOutputAndLinger) {
            // Closing at once with unread client bytes in the socket would send a reset, and
            // a reset can make the client's kernel drop replies it had already received but
            // its application had not read yet.
            let halfClosed = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: halfClosed)
            halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
            lingerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Self.lingerSeconds)) {
                self.execute(self.state.lingerDeadlinePassed(), context: context)
            }
        }
        if actions.contains(.read) {
            context.read()
        }
        if actions.contains(.close), context.channel.isActive {
            context.close(promise: nil)
        }
    }

    /// Feeds bytes to the processor (or finishes it at EOF), handling every message and
    /// every decode error. After a recoverable error, decoding resumes after that frame.
    private func decode(context: ChannelHandlerContext, input: ByteBuffer?, seenEOF: Bool?) {
        var next = input
        while state.acceptsInput {
            do {
                if let buffer = next {
                    try processor.process(buffer: buffer) { received in receive(received, context: context) }
                } else {
                    try processor.finishProcessing(seenEOF: seenEOF ?? false) { received in
                        receive(received, context: context)
                    }
                }
                return
            } catch let error as WireError {
                ServerMetrics.bump(shared.metrics.badFrames)
                sendError(ErrorReply(error), context: context)
                let closesForThePeer = security?.decodeFailed(error) == true
                if error.code.closesConnection || closesForThePeer {
                    execute(state.stopInput(), context: context)
                    return
                }
                // Resume after the rejected frame with what is already buffered.
                if next != nil { next = context.channel.allocator.buffer(capacity: 0) }
            } catch {
                sendError(
                    ErrorReply(requestId: 0, operation: 0, rawCode: WireError.Code.internalError.rawValue,
                               message: "decoder failed: \(error)"),
                    context: context)
                execute(state.stopInput(), context: context)
                return
            }
        }
    }

    /// The bytes reserved for a `status` or `promote` reply (a JSON object; a status with
    /// hundreds of followers stays well under it).
    static let adminReplyBound = 64 * 1024

    /// The largest reply `request` can get, in bytes (records are at most 128 bytes).
    private static func replyBound(_ request: Request) -> Int {
        let records: Int
        switch request {
        case .getAccountTransfers(let f), .getAccountBalances(let f): records = Int(f.limit)
        case .queryAccounts(let f), .queryTransfers(let f): records = Int(f.limit)
        case .status, .promote, .digest, .authenticate: return Self.adminReplyBound
        default: records = request.eventCount
        }
        return min(WireLimits.maxMessageSize, WireLimits.headerSize + WireLimits.maxErrorTextSize + records * 128)
    }

    /// One decoded frame. Only its request is taken out (by a `switch` on the borrowed
    /// message): binding the whole `ReceivedMessage` or `Message` to a local copies the
    /// enum through its outlined value witness, three times per request before (about 470
    /// instructions, docs/benchmarks.md, session 12).
    private func receive(_ received: ReceivedMessage, context: ChannelHandlerContext) {
        guard state.acceptsInput else { return }
        switch received.message {
        case .request(let id, let request):
            handle(request, id: id, bodyChecksum: received.bodyChecksum, context: context)
        default:
            // The decoder accepts requests only; keep the check for safety.
            sendError(
                ErrorReply(requestId: received.message.requestId, operation: 0,
                           rawCode: WireError.Code.invalidHeader.rawValue, message: "servers accept requests only"),
                context: context)
        }
    }

    private func handle(_ request: Request, id: UInt64, bodyChecksum: UInt32, context: ChannelHandlerContext) {
        let op = request.code
        var scope: Principal?
        switch security?.gate(request, id: id) ?? .proceed(scope: nil) {
        case .proceed(let s): scope = s
        case .refuse(let e):
            sendError(e, context: context)
            if e.code?.closesConnection == true { execute(state.stopInput(), context: context) }
            return
        case .answer(let reply):
            sendReply(reply, context: context)
            return
        }
        let bound = Self.replyBound(request)
        let shared = self.shared
        let admission = state.requestDecoded(
            replyBound: bound, acquireGlobalSlot: { shared.limiter.tryAcquire() },
            serverStopping: { shared.stopping })
        switch admission {
        case .refuseBusy:
            ServerMetrics.bump(shared.metrics.busyReplies)
            sendError(
                ErrorReply(requestId: id, operation: op, rawCode: WireError.Code.busy.rawValue,
                           message: "too many requests in flight; retry later"),
                context: context)
        case .refuseShuttingDown(let releaseGlobalSlot):
            if releaseGlobalSlot { shared.limiter.release() }
            sendError(
                ErrorReply(requestId: id, operation: op, rawCode: WireError.Code.shuttingDown.rawValue,
                           message: "the server is shutting down"),
                context: context)
            execute(state.stopInput(), context: context)
        case .start:
            ServerMetrics.bump(shared.metrics.requestsStarted)
            security?.started(request)
            let ledger = shared.ledger
            let route = ReplyRoute(context: context, bound: bound, started: NIODeadline.now())
            if let ledger, let scope, request.isRead {
                let answer = context.eventLoop.makeFutureWithTask {
                    await ScopedReads.answer(request, id: id, ledger: ledger, principal: scope)
                }
                answer.assumeIsolated().whenSuccess { reply in self.answered(reply, to: request, route: route) }
                return
            }
            if let ledger, startWithoutTask(request, id: id, bodyChecksum: bodyChecksum, ledger: ledger, route: route) {
                return
            }
            let node = shared.node
            let answer = context.eventLoop.makeFutureWithTask {
                await RequestExecutor.answer(request, id: id, ledger: ledger, node: node)
            }
            answer.assumeIsolated().whenSuccess { reply in self.answered(reply, to: request, route: route) }
        }
    }

    /// A started request's reply is ready (on the loop): timed and counted, then written
    /// (or dropped, `finished`). `flush: false` leaves the write unflushed: the caller
    /// promises a later `answered(flush: true)` on this connection in the same turn (the
    /// write coalescer flushes a connection's consecutive replies in a record once).
    func answered(_ reply: Message, to request: Request, route: ReplyRoute, flush: Bool = true) {
        shared.metrics.answered(request, reply: reply, nanoseconds: (NIODeadline.now() - route.started).nanoseconds)
        let held = holdFlush
        if !flush { holdFlush = true }
        finished(reply, request: request, bound: route.bound, context: route.context)
        holdFlush = held
    }

    /// Starts a create (coalesced with this loop turn's others) or a read of the serial
    /// layout right here, with no task; false for what needs one (admin operations, the
    /// sharded layout's reads). `bodyChecksum`: the request body's verified wire checksum.
    private func startWithoutTask(
        _ request: Request, id: UInt64, bodyChecksum: UInt32, ledger: DurableLedger, route: ReplyRoute
    ) -> Bool {
        switch request {
        case .createAccounts, .createTransfers:
            if coalescer == nil { coalescer = shared.coalescer(on: route.context.eventLoop) }
            coalescer?.submit(request, id: id, bodyChecksum: bodyChecksum, session: self, route: route)
            return true
        default:
            let read: DirectRead?
            do throws(EngineError) {
                read = try RequestExecutor.readNow(request, ledger: ledger)
            } catch {
                answered(.errorReply(RequestExecutor.errorReply(error, request: request, id: id)), to: request, route: route)
                return true
            }
            guard let read else { return false }
            let (reply, lsn, timeline) = (read.reply, read.lsn, read.timeline)
            if read.durable {
                // What `whenReadable` would answer at once, without its waiter and closures.
                answered(Message.reply(id: id, reply, stateLSN: lsn), to: request, route: route)
                return true
            }
            let loop = route.context.eventLoop
            let answer = NIOLoopBound({ (reply: Message) in self.answered(reply, to: request, route: route) },
                                      eventLoop: loop)
            let node = shared.node
            ledger.whenReadable(lsn, timeline: timeline) { outcome in
                switch outcome {
                case .success:
                    let message = Message.reply(id: id, reply, stateLSN: lsn)
                    if loop.inEventLoop { answer.value(message) } else { loop.execute { answer.value(message) } }
                case .failure(let error) where error.code == .logUnavailable:
                    // The state read is being rolled back (a failed log write): read
                    // again from the rolled-back state (`readAt` waits for it).
                    loop.execute {
                        let retried = loop.makeFutureWithTask {
                            await RequestExecutor.answer(request, id: id, ledger: ledger, node: node)
                        }
                        retried.whenSuccess { answer.value($0) }
                    }
                case .failure(let error):
                    let message = Message.errorReply(RequestExecutor.errorReply(error, request: request, id: id))
                    if loop.inEventLoop { answer.value(message) } else { loop.execute { answer.value(message) } }
                }
            }
            return true
        }
    }

    private func finished(_ reply: Message, request: Request, bound: Int, context: ChannelHandlerContext) {
        let disposition = state.requestFinished(replyBound: bound)
        security?.finished(request)
        if case .reply = reply, request.ledgerOperation == .createAccounts || request.ledgerOperation == .createTransfers {
            ServerMetrics.bump(shared.metrics.eventsCreated, by: request.eventCount)
        }
        guard disposition == .write else {
            if case .drop(let actions) = disposition { execute(actions, context: context) }
            return
        }
        var out = allocator.buffer(capacity: Self.replySizeHint(reply, bound: bound))
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
            if e.code?.closesConnection == true { execute(state.stopInput(), context: context) }
        } else {
            ServerMetrics.bump(shared.metrics.repliesSent)
            write(out, holdsSlot: true, context: context)
        }
    }

    /// The bytes to reserve for `reply`'s encoding: exact for create results (one
    /// allocation, no growth), the request's bound otherwise.
    private static func replySizeHint(_ reply: Message, bound: Int) -> Int {
        switch reply {
        case .reply(_, .createAccounts(let r), _): return WireLimits.headerSize + r.count * RecordCodec.createResultSize
        case .reply(_, .createTransfers(let r), _): return WireLimits.headerSize + r.count * RecordCodec.createResultSize
        case .errorReply(let e): return WireLimits.headerSize + e.message.utf8.count
        default: return min(bound, 64 * 1024)
        }
    }

    /// Writes a reply that holds no request slot (`authenticate`'s).
    private func sendReply(_ reply: Message, context: ChannelHandlerContext) {
        guard state.canWrite else { return }
        var out = allocator.buffer(capacity: 256)
        do {
            try MessageEncoding.encode(reply, into: &out)
        } catch {
            out.clear()
            MessageEncoding.encode(ErrorReply(error), into: &out)
        }
        ServerMetrics.bump(shared.metrics.repliesSent)
        write(out, holdsSlot: false, context: context)
    }

    private func sendError(_ error: ErrorReply, context: ChannelHandlerContext) {
        guard state.canWrite else { return }
        ServerMetrics.bump(shared.metrics.errorReplies)
        shared.metrics.errorReply(code: error.rawCode)
        var out = allocator.buffer(capacity: WireLimits.headerSize + error.message.utf8.count)
        MessageEncoding.encode(error, into: &out)
        write(out, holdsSlot: false, context: context)
    }

    /// Writes and flushes one reply (during a `channelRead`, the read flushes it at its end:
    /// `holdFlush`). Its bytes count as queued, and a request's slot is held, until
    /// the channel takes it: at once when the channel is still writable after the write,
    /// else when it is writable again or closes (`SessionState.replyFlushed`).
    /// No promise per reply: its future, callback and generic metadata, and NIO's side of
    /// it, cost the server about 3,900 instructions per request (docs/benchmarks.md).
    private func write(_ out: ByteBuffer, holdsSlot: Bool, context: ChannelHandlerContext) {
        let size = out.readableBytes
        shared.metrics.sent(size)
        state.willWrite(bytes: size)
        if holdFlush {
            context.write(wrapOutboundOut(out), promise: nil)
            unflushed = true
        } else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            unflushed = false
        }
        let actions = state.replyFlushed(bytes: size, holdsSlot: holdsSlot, writable: context.channel.isWritable)
        execute(actions, context: context)
    }

    /// The channel took the held replies (it is writable again, or inactive): their bytes
    /// are no longer queued and their requests' slots are given back.
    private func releaseHeldReplies(writable: Bool, context: ChannelHandlerContext) {
        let (actions, slots) = state.heldRepliesTaken(writable: writable)
        for _ in 0..<slots { shared.limiter.release() }
        execute(actions, context: context)
    }
}
