import LedgerWire
import NIOCore
import Synchronization

/// Counts open connections, overall and per client IP address, and refuses those beyond
/// `ServerSecurity.maxConnections` / `maxConnectionsPerAddress` (docs/security.md, "Limits").
final class ConnectionAdmission: Sendable {
    private let maxTotal: Int
    private let maxPerAddress: Int
    private let counts = Mutex<Counts>(Counts())

    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
    }

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = max(1, maxTotal)
        self.maxPerAddress = max(1, maxPerAddress)
    }

    /// Takes a place for a connection from `address`; nil when taken (release it with
    /// `release(address)` once the connection closes), else the limit that refused it.
    func admit(_ address: String) -> SecurityMetrics.Limit? {
        counts.withLock { c in
            if c.total >= maxTotal { return .connections }
            let mine = c.byAddress[address, default: 0]
            if mine >= maxPerAddress { return .connectionsPerAddress }
            c.total += 1
            c.byAddress[address] = mine + 1
            return nil
        }
    }

    /// Gives back the place of a closed connection from `address`.
    func release(_ address: String) {
        counts.withLock { c in
            assert(c.total > 0 && c.byAddress[address, default: 0] > 0, "released a connection never admitted")
            c.total -= 1
            let left = c.byAddress[address, default: 1] - 1
            c.byAddress[address] = left > 0 ? left : nil
        }
    }
}

/// The whole pipeline of a refused connection: answers `too_many_connections` (request id
/// 0) once active, then closes. Reads nothing.
final class ConnectionRefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let message: String

    init(message: String) { self.message = message }

    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 128)
        MessageEncoding.encode(
            ErrorReply(requestId: 0, operation: 0, rawCode: WireError.Code.tooManyConnections.rawValue, message: message),
            into: &out)
        context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
        // Closed for good shortly after, whatever the client does.
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
