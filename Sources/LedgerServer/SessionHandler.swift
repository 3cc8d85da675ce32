import LedgerWire
import NIOCore

/// One client connection: decodes requests, runs them concurrently (pipelining), writes
/// each reply when it is ready, and refuses bad frames.
///
/// It drives `NIOSingleStepByteToMessageProcessor` itself because NIO's
/// `ByteToMessageHandler` stops after the first decoder error, while a recoverable
/// `WireError` (bad body checksum, bad body size, unknown operation...) concerns one frame
/// only: that frame gets an error reply and decoding goes on. An error whose
/// `code.closesConnection` is true gets its reply and the connection is closed. A rejected
/// frame is never executed.
///
/// Backpressure: at most `maxInFlightPerConnection` requests of this connection and
/// `maxInFlightTotal` of the whole server run at once; beyond that a request is answered
/// `busy`. While the channel is not writable (too many reply bytes queued) reading stops.
final class SessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let shared: ServerShared
    private var processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .requests))
    private var inFlight = 0
    /// Set once the connection is closing: nothing more is decoded or written.
    private var closing = false
    private var active = false
    /// A read the pipeline asked for while reading was paused.
    private var pendingRead = false

    init(shared: ServerShared) {
        self.shared = shared
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
        closing = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        decode(context: context, input: unwrapInboundIn(data), seenEOF: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client finished sending: a partial frame left over is truncated.
            if !closing { decode(context: context, input: nil, seenEOF: true) }
            if !closing { close(context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && pendingRead {
            pendingRead = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context: context)
    }

    /// Feeds bytes to the processor (or finishes it at EOF), handling every message and
    /// every decode error. After a recoverable error, decoding resumes after that frame.
    private func decode(context: ChannelHandlerContext, input: ByteBuffer?, seenEOF: Bool?) {
        var next = input
        while !closing {
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
                    close(context: context)
                    return
                }
                // Resume after the rejected frame with what is already buffered.
                if next != nil { next = context.channel.allocator.buffer(capacity: 0) }
            } catch {
                sendError(
                    ErrorReply(requestId: 0, operation: 0, rawCode: WireError.Code.internalError.rawValue,
                               message: "decoder failed: \(error)"),
                    context: context)
                close(context: context)
                return
            }
        }
    }

    private func handle(_ message: Message, context: ChannelHandlerContext) {
        guard !closing else { return }
        guard case .request(let id, let request) = message else {
            // The decoder accepts requests only; keep the check for safety.
            sendError(
                ErrorReply(requestId: message.requestId, operation: 0,
                           rawCode: WireError.Code.invalidHeader.rawValue, message: "servers accept requests only"),
                context: context)
            return
        }
        let op = request.operation.rawValue
        if shared.stopping {
            sendError(
                ErrorReply(requestId: id, operation: op, rawCode: WireError.Code.shuttingDown.rawValue,
                           message: "the server is shutting down"),
                context: context)
            close(context: context)
            return
        }
        guard inFlight < shared.maxInFlightPerConnection, shared.limiter.tryAcquire() else {
            ServerMetrics.bump(shared.metrics.busyReplies)
            sendError(
                ErrorReply(requestId: id, operation: op, rawCode: WireError.Code.busy.rawValue,
                           message: "too many requests in flight; retry later"),
                context: context)
            return
        }
        inFlight += 1
        ServerMetrics.bump(shared.metrics.requestsStarted)
        let ledger = shared.ledger
        let answer = context.eventLoop.makeFutureWithTask {
            await RequestExecutor.answer(request, id: id, ledger: ledger)
        }
        answer.assumeIsolated().whenSuccess { reply in
            self.finished(reply, request: request, context: context)
        }
    }

    private func finished(_ reply: Message, request: Request, context: ChannelHandlerContext) {
        inFlight -= 1
        shared.limiter.release()
        if case .reply = reply, request.operation == .createAccounts || request.operation == .createTransfers {
            ServerMetrics.bump(shared.metrics.eventsCreated, by: request.eventCount)
        }
        guard !closing else { return }
        var out = context.channel.allocator.buffer(capacity: 64)
        do {
            try MessageEncoding.encode(reply, into: &out)
        } catch {
            sendError(ErrorReply(error), context: context)
            return
        }
        if case .errorReply(let e) = reply {
            ServerMetrics.bump(shared.metrics.errorReplies)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            if e.code?.closesConnection == true { close(context: context) }
        } else {
            ServerMetrics.bump(shared.metrics.repliesSent)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }

    private func sendError(_ error: ErrorReply, context: ChannelHandlerContext) {
        guard !closing else { return }
        ServerMetrics.bump(shared.metrics.errorReplies)
        var out = context.channel.allocator.buffer(capacity: WireLimits.headerSize + error.message.utf8.count)
        MessageEncoding.encode(error, into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// Stops decoding and closes once the replies already written are sent (a write
    /// that is still queued would otherwise be dropped by the close).
    private func close(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        let flushed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: flushed)
        flushed.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
