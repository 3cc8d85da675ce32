import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// An in-process Kamino server on 127.0.0.1 backed by an in-memory ledger, with
/// switchable misbehaviors (see `FakeServerBehavior`).
final class FakeServer: Sendable {
    let state: FakeServerState
    let port: Int
    private let channel: any Channel

    private init(state: FakeServerState, port: Int, channel: any Channel) {
        self.state = state
        self.port = port
        self.channel = channel
    }

    /// `127.0.0.1:port`.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts a server on `port` (0: an ephemeral port), sharing `state` if given.
    static func start(port: Int = 0, state: FakeServerState = FakeServerState()) async throws -> FakeServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                state.add(child)
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(FakeServerHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return FakeServer(state: state, port: channel.localAddress?.port ?? 0, channel: channel)
    }

    /// Stops listening and closes every connection.
    func stop() async {
        try? await channel.close()
        state.closeChildren()
    }

    /// Starts a server on the port `reserved` holds (no other process can have taken it
    /// in between: the socket stayed bound), sharing `state` if given.
    static func start(on reserved: ReservedPort, state: FakeServerState = FakeServerState()) async throws -> FakeServer {
        let fd = try reserved.handOver()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                state.add(child)
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(FakeServerHandler(state: state))
                }
            }
            .withBoundSocket(fd).get()
        return FakeServer(state: state, port: reserved.port, channel: channel)
    }

    /// A port on 127.0.0.1 where nothing listens: bound and not listening, so a connect
    /// is refused and no other test can take the port while the reservation lives.
    static func deadPort() throws -> ReservedPort { try ReservedPort() }
}

/// A TCP socket bound to an ephemeral port of 127.0.0.1 that does not listen: connects to
/// it are refused (RST), and the port stays ours until `FakeServer.start(on:)` listens on
/// this very socket or the reservation is released.
final class ReservedPort: Sendable {
    /// The reserved port.
    let port: Int
    private let descriptor: Mutex<CInt?>

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(fd)
            throw IOError(errnoCode: code, reason: "bind 127.0.0.1:0")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        descriptor = Mutex(fd)
    }

    /// Gives the socket to a listener (once).
    fileprivate func handOver() throws -> CInt {
        guard let fd = descriptor.withLock({ d -> CInt? in defer { d = nil }; return d }) else {
            throw IOError(errnoCode: EBADF, reason: "the reserved port was already handed over")
        }
        return fd
    }

    deinit {
        if let fd = descriptor.withLock({ $0 }) { close(fd) }
    }
}
