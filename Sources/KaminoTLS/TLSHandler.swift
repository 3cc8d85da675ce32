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

/// TLS over a NIO channel with OpenSSL and byte queues: ciphertext from the socket is fed
/// to OpenSSL and the plaintext (`SSL_read`) passed on; plaintext written is gathered and
/// encrypted on flush, all of it in one `SSL_write` (one record per 16 KiB), and sent in
/// one socket write. Writes before the handshake completes wait for it.
///
/// The per-record path is kept short, as a small request and its reply cost a record
/// each way: reads stop once OpenSSL holds no unprocessed bytes (no second `SSL_read`
/// only to hear "want read"), and a flush's buffer is reused once the socket wrote it.
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
    // The properties marked `@exclusivity(unchecked)` are read or changed once or more per
    // record; the compiler proved most of their accesses safe already, one dynamic check
    // (about 75 instructions) per flush was left. (The checks still seen in the handler's
    // frames are on NIO's ByteBuffer storage, inlined from NIO.) Their accesses cannot
    // overlap: the handler runs on its event loop only, and no access lasts across a call
    // into another handler or into OpenSSL (each is a read, an assignment, a `take()` or
    // an append to a buffer). So the dynamic checks are off for them; the compiler's
    // static checks still apply.
    @exclusivity(unchecked) private var state = State.handshaking
    private var started = false
    @exclusivity(unchecked) private var sawFirstByte = false
    /// Plaintext written since the last flush (or before the handshake completed), in order.
    @exclusivity(unchecked) private var unflushed: ByteBuffer?
    /// The promise of those writes: the first one given; later ones are cascaded from it.
    @exclusivity(unchecked) private var unflushedPromise: EventLoopPromise<Void>?
    /// A flush came during the handshake: the writes before it go out once it completes.
    private var flushWaiting = false
    /// The last flush's ciphertext buffer, reused (no allocation) once the socket wrote it.
    @exclusivity(unchecked) private var spareWriteBuffer: ByteBuffer?
    /// The plaintext buffers of the last two reads, reused in turn: the next handler's
    /// decoder keeps the last buffer it was given until it gets the next one, so the one
    /// before is free again by the next read. When something still holds it (a request
    /// that kept a slice, a decoder that was given no new buffer), `clear()` gives it new
    /// storage (ByteBuffer's copy on write): no byte handed on is ever overwritten.
    @exclusivity(unchecked) private var lastReadBuffer: ByteBuffer?
    @exclusivity(unchecked) private var olderReadBuffer: ByteBuffer?
    /// The channel's allocator, taken when the handler is added (the channel's getter
    /// costs about 150 instructions per read).
    @exclusivity(unchecked) private var allocator = ByteBufferAllocator()
    /// The handshake's outcome, for tests and callers that wait for it.
    private var handshakeWaiters: [EventLoopPromise<TLSHandshakeCompleted>] = []
    package private(set) var completed: TLSHandshakeCompleted?
    /// The first failure, for `handshakeResult` calls that come after it.
    private var failure: TLSError?

    /// Plaintext bytes delivered per read buffer.
    private static let readChunk = 16 * 1024
    /// The largest write buffer kept for reuse.
    private static let spareCapacity = 4 * 1024
    /// The largest read buffer kept for reuse (two per connection).
    private static let spareReadCapacity = 2 * 1024
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
        allocator = context.channel.allocator
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
            sendPending(context: context, promise: nil)
            let waiters = handshakeWaiters
            handshakeWaiters = []
            for waiter in waiters { waiter.succeed(done) }
            context.fireUserInboundEventTriggered(done)
            // Writes flushed during the handshake go out now (later ones wait for a flush).
            if flushWaiting, state == .active {
                flushWaiting = false
                encryptAndSend(context: context)
            }
        case Int32(KAMINO_TLS_WANT_READ):
            sendPending(context: context, promise: nil)
        default:
            fail(context: context, TLSError(.handshakeFailed, Self.text(kamino_tls_conn_error(connection))))
        }
    }

    /// Decrypts what was received and passes it on; answers close_notify.
    private func deliver(context: ChannelHandlerContext, received: Int) {
        // Plaintext is never longer than the ciphertext it came in (plus a partial record
        // held from before): small reads get small buffers.
        let wanted = min(Self.readChunk, received + 64)
        var buffer: ByteBuffer
        if var spare = olderReadBuffer.take(), spare.capacity >= wanted {
            spare.clear()
            buffer = spare
        } else {
            buffer = allocator.buffer(capacity: wanted)
        }
        var outcome = Int32(KAMINO_TLS_WANT_READ)
        while true {
            if buffer.writableBytes == 0 {
                context.fireChannelRead(wrapInboundOut(buffer))
                buffer = allocator.buffer(capacity: Self.readChunk)
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
            // Every received byte was processed and no decrypted byte is left: another
            // `SSL_read` could only answer "want read".
            if kamino_tls_conn_unprocessed(connection) == 0 { break }
        }
        if buffer.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(buffer))
            if buffer.capacity <= Self.spareReadCapacity {
                olderReadBuffer = lastReadBuffer.take()
                lastReadBuffer = buffer
            }
        }
        sendPending(context: context, promise: nil)
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
        sendPending(context: context, promise: promise)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        switch state {
        case .handshaking, .active:
            if unflushed == nil {
                unflushed = buffer
            } else {
                unflushed?.writeBuffer(&buffer)
            }
            if let promise {
                if let held = unflushedPromise {
                    held.futureResult.cascade(to: promise)
                } else {
                    unflushedPromise = promise
                }
            }
        case .closing, .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    package func flush(context: ChannelHandlerContext) {
        switch state {
        case .handshaking: flushWaiting = true
        case .active: encryptAndSend(context: context)
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
        // Writes made before the close go out before close_notify (an encryption failure
        // has closed the connection already).
        if unflushed != nil { encryptAndSend(context: context) }
        guard state == .active else {
            context.close(mode: mode, promise: promise)
            return
        }
        state = .closing
        _ = kamino_tls_conn_shutdown(connection)
        let sent = context.eventLoop.makePromise(of: Void.self)
        sendPending(context: context, promise: sent)
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

    /// Encrypts the plaintext written since the last flush in one `SSL_write` and sends
    /// it; the writes' promises complete when the socket took it.
    private func encryptAndSend(context: ChannelHandlerContext) {
        assert(state == .active, "plaintext is encrypted only once the handshake completed")
        let promise = unflushedPromise
        unflushedPromise = nil
        guard let plaintext = unflushed.take() else {
            sendPending(context: context, promise: promise)
            return
        }
        let status = plaintext.withUnsafeReadableBytes { kamino_tls_conn_write(connection, $0.baseAddress, $0.count) }
        guard status == Int32(KAMINO_TLS_OK) else {
            let error = TLSError(.protocolError, Self.text(kamino_tls_conn_error(connection)))
            promise?.fail(error)
            fail(context: context, error)
            return
        }
        sendPending(context: context, promise: promise)
    }

    /// Writes and flushes what OpenSSL produced (handshake messages, records, alerts);
    /// `promise` completes when it is written, at once when there is nothing to write.
    private func sendPending(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let count = kamino_tls_conn_pending(connection)
        guard count > 0 else {
            promise?.succeed(())
            return
        }
        var out = spareWriteBuffer.take() ?? allocator.buffer(capacity: count)
        // Reuses the storage when the socket let go of the last flush's bytes.
        out.clear(minimumCapacity: count)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            kamino_tls_conn_take(connection, raw.baseAddress, count)
        }
        assert(out.readableBytes == count, "the outgoing queue held fewer bytes than it reported")
        context.writeAndFlush(wrapOutboundOut(out), promise: promise)
        if out.capacity <= Self.spareCapacity { spareWriteBuffer = out }
    }

    /// Sends any alert OpenSSL queued, reports `error` and closes the connection.
    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        guard state != .closing, state != .closed else { return }
        state = .closing
        failure = error
        sendPending(context: context, promise: nil)
        failWaiting(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    /// Fails writes not yet sent and handshake waiters.
    private func failWaiting(_ error: any Error) {
        failUnflushed(error)
        let waiters = handshakeWaiters
        handshakeWaiters = []
        for waiter in waiters { waiter.fail(error) }
    }

    /// Drops the plaintext not yet flushed and fails its writes.
    private func failUnflushed(_ error: any Error) {
        unflushed = nil
        let promise = unflushedPromise
        unflushedPromise = nil
        promise?.fail(error)
    }

    private static func text(_ pointer: UnsafePointer<CChar>) -> String { String(cString: pointer) }

    private static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
