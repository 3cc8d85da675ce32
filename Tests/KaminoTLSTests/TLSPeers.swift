import CKaminoTLS
import Glibc
import KaminoTLS
import NIOCore
import NIOPosix
import Synchronization

/// What one end of a test connection saw, readable from the test's thread.
final class Observed: Sendable {
    struct State {
        var bytes: [UInt8] = []
        var errors: [TLSError] = []
        var otherErrors: [String] = []
        var inactive = false
        var handshake: TLSHandshakeCompleted?
        /// The buffers the TLS handler wrote to the socket (clients), in order.
        var sent: [[UInt8]] = []
    }
    let state = Mutex(State())

    var snapshot: State { state.withLock { $0 } }

    /// Polls `condition` until it holds or `seconds` pass; returns whether it held.
    func wait(seconds: Double = 10, _ condition: (State) -> Bool) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = Double(deadline.tv_sec) + Double(deadline.tv_nsec) / 1e9 + seconds
        while true {
            if condition(snapshot) { return true }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 > end { return false }
            usleep(5_000)
        }
    }
}

/// Records what arrives above the TLS handler; `echo` writes every read back.
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let observed: Observed
    let echo: Bool

    init(_ observed: Observed, echo: Bool) {
        self.observed = observed
        self.echo = echo
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        observed.state.withLock { $0.bytes += Array(buffer.readableBytesView) }
        guard echo else { return }
        // 0xFF alone asks the server to close after echoing it.
        let closeAfter = buffer.readableBytes == 1 && buffer.readableBytesView.first == 0xFF
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        if closeAfter { context.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if echo { context.flush() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let done = event as? TLSHandshakeCompleted { observed.state.withLock { $0.handshake = done } }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        observed.state.withLock {
            if let tls = error as? TLSError { $0.errors.append(tls) } else { $0.otherErrors.append("\(error)") }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        observed.state.withLock { $0.inactive = true }
    }
}

/// Sits between the socket and the TLS handler: can cut the next outbound buffer short and
/// close the socket (a truncated record), or close the socket under TLS (no close_notify).
final class Saboteur: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    /// Outbound events understood.
    enum Command: Sendable { case truncateNextWrite, closeWithoutCloseNotify }
    private var truncate = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        guard truncate else {
            context.write(data, promise: promise)
            return
        }
        truncate = false
        let half = buffer.readSlice(length: max(1, buffer.readableBytes / 2)) ?? buffer
        context.writeAndFlush(wrapOutboundOut(half)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        promise?.succeed(())
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event as? Command {
        case .truncateNextWrite?:
            truncate = true
            promise?.succeed(())
        case .closeWithoutCloseNotify?:
            context.close(promise: promise)
        case nil:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }
}

/// Sits under a client's TLS handler: records what it writes to the socket and can change
/// how the next ciphertext reaches the wire, so that the server reads one record in two
/// parts, or two records in one read.
final class WireShaper: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    /// Outbound events understood.
    enum Command: Sendable {
        /// The next buffer goes out in two writes, the second one 100 ms after the first.
        case splitNextWrite
        /// The next buffer is held and goes out with the one after it, in one write.
        case joinNextTwoWrites
    }
    private let observed: Observed
    private var command: Command?
    private var held: (ByteBuffer, EventLoopPromise<Void>?)?

    init(_ observed: Observed) { self.observed = observed }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        observed.state.withLock { $0.sent.append(Array(buffer.readableBytesView)) }
        switch command {
        case nil:
            context.write(data, promise: promise)
        case .splitNextWrite?:
            command = nil
            let first = buffer.readSlice(length: buffer.readableBytes / 2) ?? buffer
            context.writeAndFlush(wrapOutboundOut(first), promise: nil)
            let rest = buffer
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) {
                context.writeAndFlush(self.wrapOutboundOut(rest), promise: promise)
            }
        case .joinNextTwoWrites?:
            guard let (heldBuffer, firstPromise) = held else {
                held = (buffer, promise)
                return
            }
            command = nil
            held = nil
            var first = heldBuffer
            first.writeBuffer(&buffer)
            if let firstPromise, let promise { firstPromise.futureResult.cascade(to: promise) }
            context.write(wrapOutboundOut(first), promise: firstPromise ?? promise)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? Command else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        self.command = command
        promise?.succeed(())
    }
}

/// The TLS records in `bytes` (which hold whole records): content type and length.
func tlsRecords(_ bytes: [UInt8]) -> [(type: UInt8, length: Int)] {
    var records: [(type: UInt8, length: Int)] = []
    var at = 0
    while at + 5 <= bytes.count {
        let length = Int(bytes[at + 3]) << 8 | Int(bytes[at + 4])
        records.append((bytes[at], length))
        at += 5 + length
    }
    return records
}

/// A TLS echo server on 127.0.0.1 and clients for it, over real sockets.
final class TLSPeers: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let serverContext: TLSContext
    let server: any Channel
    var port: Int { server.localAddress?.port ?? 0 }

    init(_ configuration: TLSConfiguration) throws {
        serverContext = try TLSContext(role: .server, configuration: configuration)
        let context = serverContext
        let box = AcceptedBox()
        server = try ServerBootstrap(group: group)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let observed = Observed()
                    box.add(observed)
                    try channel.pipeline.syncOperations.addHandler(try context.makeHandler())
                    try channel.pipeline.syncOperations.addHandler(Recorder(observed, echo: true))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        acceptedBox = box
    }

    /// One `Observed` per accepted connection, in order.
    let acceptedBox: AcceptedBox

    /// The server side of the `index`th connection, once accepted.
    func serverSide(_ index: Int, seconds: Double = 10) -> Observed? {
        for _ in 0..<Int(seconds * 200) {
            if let found = acceptedBox.get(index) { return found }
            usleep(5_000)
        }
        return nil
    }

    /// Connects a TLS client (a `Saboteur` and a `WireShaper` under its TLS handler).
    func connect(_ configuration: TLSConfiguration) throws -> (any Channel, Observed) {
        let context = try TLSContext(role: .client, configuration: configuration)
        let observed = Observed()
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Saboteur())
                    try channel.pipeline.syncOperations.addHandler(WireShaper(observed))
                    try channel.pipeline.syncOperations.addHandler(try context.makeHandler())
                    try channel.pipeline.syncOperations.addHandler(Recorder(observed, echo: false))
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        return (channel, observed)
    }

    /// Connects a plain TCP client.
    func connectPlain() throws -> (any Channel, Observed) {
        let observed = Observed()
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(observed, echo: false))
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        return (channel, observed)
    }

    func shutdown() {
        try? server.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// The accepted connections' observations (filled on the event loop).
final class AcceptedBox: Sendable {
    private let items = Mutex<[Observed]>([])
    func add(_ observed: Observed) { items.withLock { $0.append(observed) } }
    func get(_ index: Int) -> Observed? { items.withLock { index < $0.count ? $0[index] : nil } }
}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        writeBytes(bytes)
    }
}

/// A count shared with event loop callbacks.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
