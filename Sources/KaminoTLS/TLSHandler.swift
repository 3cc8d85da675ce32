import CKaminoTLS
package import NIOCore

/// Fired inbound once the handshake completed.
package struct TLSHandshakeCompleted: Sendable, Equatable {
    /// "TLSv1.3", "TLSv1.2".
    package let version: String
    package let cipher: String
    /// The peer certificate's subject (one line), nil when it sent none.
    package let peerSubject: String?
}

/// TLS over a NIO channel with OpenSSL and memory BIOs: ciphertext from the socket is fed
/// to OpenSSL and the plaintext (`SSL_read`) passed on; plaintext written is encrypted
/// (`SSL_write`) and sent on flush. Writes before the handshake completes wait for it.
///
/// Failures close the connection after firing a `TLSError` inbound: a failed handshake
/// (`.handshakeFailed`, with OpenSSL's reason), first bytes that are not a TLS record
/// (`.plaintextPeer`), a bad record or fatal alert (`.protocolError`), or the peer
/// closing without close_notify (`.truncated`). Closing sends close_notify first, and a
/// received close_notify is answered with one before the channel closes.
/// Renegotiation is refused by the context (`SSL_OP_NO_RENEGOTIATION`).
package final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private enum State {
        case handshaking
        case active
        /// close_notify sent (or a failure): nothing more is written or delivered.
        case closing
        case closed
    }

    private let connection: OpaquePointer
    private let isServer: Bool
    private var state = State.handshaking
    private var started = false
    private var sawFirstByte = false
    /// Writes made before the handshake completed, with whether a flush followed.
    private var waitingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushWaiting = false
    /// Promises of writes encrypted since the last flush.
    private var unflushedPromises: [EventLoopPromise<Void>] = []
    /// The handshake's outcome, for tests and callers that wait for it.
    private var handshakeWaiters: [EventLoopPromise<TLSHandshakeCompleted>] = []
    package private(set) var completed: TLSHandshakeCompleted?
    /// The first failure, for `handshakeResult` calls that come after it.
    private var failure: TLSError?

    /// Plaintext bytes delivered per read buffer.
    private static let readChunk = 16 * 1024
    /// Longest wait for close_notify to be written before the socket closes anyway.
    private static let closeGrace = TimeAmount.seconds(1)

    init(connection: OpaquePointer, isServer: Bool) {
        self.connection = connection
        self.isServer = isServer
    }

    deinit { kamino_tls_conn_free(connection) }

    /// Completes once the handshake did (fails if it failed or the channel closed first).
    package func handshakeResult(on eventLoop: any EventLoop) -> EventLoopFuture<TLSHandshakeCompleted> {
        if let completed { return eventLoop.makeSucceededFuture(completed) }
        if state != .handshaking {
            return eventLoop.makeFailedFuture(
                failure ?? TLSError(.handshakeFailed, "the connection closed before the handshake completed"))
        }
        let promise = eventLoop.makePromise(of: TLSHandshakeCompleted.self)
        handshakeWaiters.append(promise)
        return promise.futureResult
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    /// A channel that never became active (connection refused) or a handler taken out:
    /// nothing waits forever (NIO's debug builds trap on an unfulfilled promise).
    package func handlerRemoved(context: ChannelHandlerContext) {
        failWaiting(failure ?? TLSError(.handshakeFailed, "the connection closed before the handshake completed"))
    }

    package func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    /// Clients send their ClientHello as soon as the connection is up.
    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if !isServer { advanceHandshake(context: context) }
    }

    // MARK: inbound

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard state == .handshaking || state == .active else { return }
        if !sawFirstByte, let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) {
            sawFirstByte = true
            // Every TLS connection opens with a handshake record (content type 22).
            if first != 22 {
                fail(context: context, TLSError(.plaintextPeer, "the peer did not start a TLS handshake (it speaks plaintext or another protocol)"))
                return
            }
        }
        let fed = bytes.withUnsafeReadableBytes { kamino_tls_conn_feed(connection, $0.baseAddress, $0.count) }
        guard fed == 0 else {
            fail(context: context, TLSError(.protocolError, "out of memory buffering received bytes"))
            return
        }
        if state == .handshaking {
            advanceHandshake(context: context)
        }
        if state == .active {
            deliver(context: context, received: bytes.readableBytes)
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        let before = state
        state = .closed
        switch before {
        case .handshaking:
            let error = TLSError(.handshakeFailed, "the connection closed during the handshake")
            failWaiting(error)
            if started && sawFirstByte { context.fireErrorCaught(error) }
        case .active:
            if kamino_tls_conn_received_close_notify(connection) == 0 {
                context.fireErrorCaught(truncation())
            }
        case .closing, .closed:
            break
        }
        failWaiting(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // With half-closure allowed, the end of input arrives as an event: without
        // close_notify it is a truncation.
        if case ChannelEvent.inputClosed = event, state == .active || state == .handshaking,
           kamino_tls_conn_received_close_notify(connection) == 0 {
            fail(context: context, state == .active
                 ? truncation() : TLSError(.handshakeFailed, "the peer closed its side during the handshake"))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func truncation() -> TLSError {
        kamino_tls_conn_unprocessed(connection) > 0
            ? TLSError(.truncated, "the peer closed the connection in the middle of a TLS record")
            : TLSError(.truncated, "the peer closed the connection without close_notify")
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        switch kamino_tls_conn_handshake(connection) {
        case Int32(KAMINO_TLS_OK):
            state = .active
            var subject = [CChar](repeating: 0, count: 512)
            let hasPeer = kamino_tls_conn_peer_subject(connection, &subject, subject.count) == 0
            let done = TLSHandshakeCompleted(
                version: String(cString: kamino_tls_conn_version(connection)),
                cipher: String(cString: kamino_tls_conn_cipher(connection)),
                peerSubject: hasPeer ? Self.text(subject) : nil)
            completed = done
            sendPending(context: context)
            let waiters = handshakeWaiters
            handshakeWaiters = []
            for waiter in waiters { waiter.succeed(done) }
            context.fireUserInboundEventTriggered(done)
            // Writes made during the handshake go out now, in order.
            let writes = waitingWrites
            waitingWrites = []
            for (buffer, promise) in writes { encrypt(buffer, promise: promise, context: context) }
            if flushWaiting || !unflushedPromises.isEmpty {
                flushWaiting = false
                sendPending(context: context)
            }
        case Int32(KAMINO_TLS_WANT_READ):
            sendPending(context: context)
        default:
            fail(context: context, TLSError(.handshakeFailed, Self.text(kamino_tls_conn_error(connection))))
        }
    }

    /// Decrypts what was received and passes it on; answers close_notify.
    private func deliver(context: ChannelHandlerContext, received: Int) {
        // Plaintext is never longer than the ciphertext it came in (plus a partial record
        // held from before): small reads get small buffers.
        var buffer = context.channel.allocator.buffer(capacity: min(Self.readChunk, received + 64))
        var outcome = Int32(KAMINO_TLS_WANT_READ)
        while true {
            if buffer.writableBytes == 0 {
                context.fireChannelRead(wrapInboundOut(buffer))
                buffer = context.channel.allocator.buffer(capacity: Self.readChunk)
            }
            var status = Int32(KAMINO_TLS_OK)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { raw in
                var read = 0
                status = kamino_tls_conn_read(connection, raw.baseAddress, raw.count, &read)
                return status == Int32(KAMINO_TLS_OK) ? read : 0
            }
            if status != Int32(KAMINO_TLS_OK) {
                outcome = status
                break
            }
        }
        if buffer.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(buffer))
        }
        sendPending(context: context)
        switch outcome {
        case Int32(KAMINO_TLS_CLOSED):
            context.fireChannelReadComplete()
            close(context: context, mode: .all, promise: nil)
        case Int32(KAMINO_TLS_ERROR):
            fail(context: context, TLSError(.protocolError, Self.text(kamino_tls_conn_error(connection))))
        default:
            break
        }
    }

    // MARK: outbound

    /// An outbound event that starts a TLS 1.2 renegotiation (tests: servers refuse it; a
    /// production context refuses to start one too).
    package struct RenegotiateForTesting: Sendable {
        package init() {}
    }

    package func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RenegotiateForTesting else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        guard state == .active, kamino_tls_conn_renegotiate(connection) == Int32(KAMINO_TLS_OK) else {
            promise?.fail(TLSError(.protocolError, Self.text(kamino_tls_conn_error(connection))))
            return
        }
        sendPending(context: context, extra: promise)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .handshaking:
            waitingWrites.append((buffer, promise))
        case .active:
            encrypt(buffer, promise: promise, context: context)
        case .closing, .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    package func flush(context: ChannelHandlerContext) {
        switch state {
        case .handshaking: flushWaiting = true
        case .active: sendPending(context: context)
        case .closing, .closed: break
        }
    }

    package func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode != .input, state == .active else {
            if mode != .input, state == .handshaking {
                state = .closing
                failWaiting(ChannelError.ioOnClosedChannel)
            }
            context.close(mode: mode, promise: promise)
            return
        }
        state = .closing
        _ = kamino_tls_conn_shutdown(connection)
        let sent = context.eventLoop.makePromise(of: Void.self)
        sendPending(context: context, extra: sent)
        // Close once close_notify is written, or after a grace period if the peer does not
        // read: whichever comes first completes `closeOnce` (NIO keeps a promise's first result).
        let closeOnce = context.eventLoop.makePromise(of: Void.self)
        let grace = context.eventLoop.scheduleTask(in: Self.closeGrace) { closeOnce.succeed(()) }
        sent.futureResult.whenComplete { _ in closeOnce.succeed(()) }
        closeOnce.futureResult.assumeIsolated().whenComplete { _ in
            grace.cancel()
            context.close(mode: mode, promise: promise)
        }
    }

    /// Encrypts `buffer` into the outgoing bytes; sent on the next flush.
    private func encrypt(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let status = buffer.withUnsafeReadableBytes { kamino_tls_conn_write(connection, $0.baseAddress, $0.count) }
        guard status == Int32(KAMINO_TLS_OK) else {
            let error = TLSError(.protocolError, Self.text(kamino_tls_conn_error(connection)))
            promise?.fail(error)
            fail(context: context, error)
            return
        }
        if let promise { unflushedPromises.append(promise) }
    }

    /// Writes and flushes what OpenSSL produced; completes the promises of the writes it
    /// carries (and `extra`) when it is written.
    private func sendPending(context: ChannelHandlerContext, extra: EventLoopPromise<Void>? = nil) {
        let count = kamino_tls_conn_pending(connection)
        var promises = unflushedPromises
        unflushedPromises = []
        if let extra { promises.append(extra) }
        guard count > 0 else {
            for promise in promises { promise.succeed(()) }
            return
        }
        var out = context.channel.allocator.buffer(capacity: count)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            kamino_tls_conn_take(connection, raw.baseAddress, count)
        }
        assert(out.readableBytes == count, "the memory BIO held fewer bytes than it reported")
        let promise: EventLoopPromise<Void>?
        switch promises.count {
        case 0: promise = nil
        case 1: promise = promises[0]
        default:
            let combined = context.eventLoop.makePromise(of: Void.self)
            let carried = promises
            combined.futureResult.whenComplete { result in
                for p in carried { p.completeWith(result) }
            }
            promise = combined
        }
        context.writeAndFlush(wrapOutboundOut(out), promise: promise)
    }

    /// Sends any alert OpenSSL queued, reports `error` and closes the connection.
    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        guard state != .closing, state != .closed else { return }
        state = .closing
        failure = error
        sendPending(context: context)
        failWaiting(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    /// Fails writes not yet sent and handshake waiters.
    private func failWaiting(_ error: any Error) {
        let writes = waitingWrites
        waitingWrites = []
        for (_, promise) in writes { promise?.fail(error) }
        let promises = unflushedPromises
        unflushedPromises = []
        for promise in promises { promise.fail(error) }
        let waiters = handshakeWaiters
        handshakeWaiters = []
        for waiter in waiters { waiter.fail(error) }
    }

    private static func text(_ pointer: UnsafePointer<CChar>) -> String { String(cString: pointer) }

    private static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
