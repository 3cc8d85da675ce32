import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// The open client connections, so that shutdown can close them all.
final class ChannelRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }
    private let state = Mutex(State())

    /// Registers a new connection; false once the registry was closed (refuse it).
    func add(_ channel: any Channel) -> Bool {
        state.withLock { s in
            guard !s.closed else { return false }
            s.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes the registry and hands back every connection still open.
    func closeAll() -> [any Channel] {
        state.withLock { s in
            s.closed = true
            defer { s.channels = [:] }
            return Array(s.channels.values)
        }
    }
}

/// Holds the listening channel between `start()` and `stop()`.
final class ListenerBox: Sendable {
    private let channel = Mutex<(any Channel)?>(nil)

    func set(_ value: any Channel) { channel.withLock { $0 = value } }

    /// Binds `bootstrap` on `host:port`, keeps the listening channel, and returns the bound
    /// address (the real port when `port` is 0). `purpose` names the socket in errors.
    func bind(_ bootstrap: ServerBootstrap, host: String, port: Int, purpose: String) async throws(ServerError) -> SocketAddress {
        let listening: any Channel
        do {
            listening = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw ServerError(.bindFailed, "cannot \(purpose) on \(host):\(port): " + Self.explain(error, host: host, port: port))
        }
        set(listening)
        guard let address = listening.localAddress else {
            throw ServerError(.bindFailed, "the socket to \(purpose) has no address")
        }
        return address
    }

    /// A bind failure in plain words (the errno text alone says little to an operator).
    static func explain(_ error: any Error, host: String, port: Int) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE:
                return "the address is already in use (another kamino, or another program, listens on port \(port)); "
                    + "stop it or choose another port"
            case EACCES:
                return "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port from 1024 up"
            case EADDRNOTAVAIL:
                return "no network interface of this machine has the address \(host); use 127.0.0.1, 0.0.0.0 or one of its addresses"
            default:
                return "\(io)"
            }
        }
        return "\(error)"
    }

    /// Removes and returns the channel (nil if already taken).
    func take() -> (any Channel)? { channel.withLock { c in defer { c = nil }; return c } }
}
