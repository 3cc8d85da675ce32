package import Glibc
import Synchronization

/// Changes the bytes flowing from the upstream server to the client on one proxied
/// connection (for example flips one byte). Used only by that connection's thread.
package protocol StreamTamper: AnyObject {
    /// Called with each chunk received from upstream, before it is forwarded.
    func process(_ chunk: inout [UInt8])
}

/// A TCP forwarder on 127.0.0.1 that a test controls, placed between a client (a
/// follower, a `KaminoClient`) and a server port: `blackhole()` silently stops forwarding
/// in both directions (sockets stay open, bytes wait in the kernel), `heal()` resumes,
/// `reset()` closes every current connection. One thread accepts; one thread per
/// connection forwards both ways with `poll`. Call `stop()`: it closes everything and
/// joins the threads (which hold the proxy until then).
package final class TCPFaultProxy: Sendable {
    /// The port clients connect to.
    package let port: UInt16
    /// The port forwarded to on 127.0.0.1.
    package let upstreamPort: UInt16
    private let listenFD: Int32
    private let state = Mutex(ProxyState())
    private let tamper: (@Sendable () -> (any StreamTamper)?)?

    /// Listens on 127.0.0.1 (ephemeral port) and forwards to 127.0.0.1:`upstreamPort`.
    /// `tamper`, when given, is asked once per connection for the tamper of its
    /// upstream-to-client bytes.
    package init(upstreamPort: UInt16, tamper: (@Sendable () -> (any StreamTamper)?)? = nil) throws(ClusterError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("proxy: socket failed, errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ClusterError("proxy: cannot listen on 127.0.0.1, errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenFD = fd
        port = UInt16(bigEndian: addr.sin_port)
        self.upstreamPort = upstreamPort
        self.tamper = tamper
        guard let thread = startThread({ [self] in acceptLoop() }) else {
            close(fd)
            throw ClusterError("proxy: cannot start its thread")
        }
        state.withLock { $0.threads.append(thread) }
    }

    /// `127.0.0.1:PORT` clients connect to.
    package var address: String { "127.0.0.1:\(port)" }

    /// Stops forwarding: new connections are accepted but not connected upstream, and
    /// nothing is read from or written to any connection until `heal()`.
    package func blackhole() { state.withLock { $0.blackholed = true } }

    /// Resumes forwarding (what waited in the kernel's buffers flows again).
    package func heal() { state.withLock { $0.blackholed = false } }

    /// True between `blackhole()` and `heal()`.
    package var isBlackholed: Bool { state.withLock { $0.blackholed } }

    /// Closes every current connection (both sides see the connection end).
    package func reset() {
        state.withLock { s in
            for c in s.connections.values {
                shutdown(c.client, Int32(SHUT_RDWR))
                if c.upstream >= 0 { shutdown(c.upstream, Int32(SHUT_RDWR)) }
            }
        }
    }

    /// Connections accepted so far.
    package var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Closes the listener and every connection, and joins the threads. Idempotent.
    package func stop() {
        let threads: [pthread_t] = state.withLock { s in
            guard !s.stopped else { return [] }
            s.stopped = true
            for c in s.connections.values {
                shutdown(c.client, Int32(SHUT_RDWR))
                if c.upstream >= 0 { shutdown(c.upstream, Int32(SHUT_RDWR)) }
            }
            defer { s.threads = [] }
            return s.threads
        }
        for t in threads { pthread_join(t, nil) }
        // Pump threads started after the first snapshot of the list: none, since the
        // accept thread (joined above) is the only one that starts them.
        let late = state.withLock { s in
            defer { s.threads = [] }
            return s.threads
        }
        for t in late { pthread_join(t, nil) }
        if !threads.isEmpty { close(listenFD) }
    }

    private func acceptLoop() {
        while !state.withLock({ $0.stopped }) {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            let id: Int? = state.withLock { s in
                guard !s.stopped else { return nil }
                s.accepted += 1
                s.nextId += 1
                s.connections[s.nextId] = ProxiedConnection(client: client, upstream: -1)
                return s.nextId
            }
            guard let id else {
                close(client)
                return
            }
            let tamper = self.tamper
            if let thread = startThread({ [self] in pump(id, tamper: tamper?()) }) {
                state.withLock { $0.threads.append(thread) }
            } else {
                finish(id)
            }
        }
    }

    /// Forwards one connection both ways until either side ends it or the proxy stops.
    private func pump(_ id: Int, tamper: (any StreamTamper)?) {
        defer { finish(id) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let (now, blackholed, stopped) = state.withLock { s in (s.connections[id], s.blackholed, s.stopped) }
            guard let now, !stopped else { return }
            if blackholed {
                usleep(20_000)
                continue
            }
            if now.upstream < 0 {
                guard let upstream = connectLoopback(upstreamPort, noDelay: true) else { return }
                let kept = state.withLock { s in
                    guard s.connections[id] != nil, !s.stopped else { return false }
                    s.connections[id]?.upstream = upstream
                    return true
                }
                guard kept else {
                    close(upstream)
                    return
                }
                continue
            }
            var fds = [
                pollfd(fd: now.client, events: Int16(POLLIN), revents: 0),
                pollfd(fd: now.upstream, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&fds, 2, 50) > 0 else { continue }
            for (index, pfd) in fds.enumerated() where pfd.revents != 0 {
                let from = index == 0 ? now.client : now.upstream
                let to = index == 0 ? now.upstream : now.client
                let n = chunk.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                var data = Array(chunk[0..<n])
                if index == 1 { tamper?.process(&data) }
                guard sendAll(to, data) else { return }
            }
        }
    }

    /// Closes a connection's sockets (under the lock, so `reset` never touches a reused fd).
    private func finish(_ id: Int) {
        state.withLock { s in
            guard let c = s.connections.removeValue(forKey: id) else { return }
            close(c.client)
            if c.upstream >= 0 { close(c.upstream) }
        }
    }
}

/// The proxy's shared state.
private struct ProxyState {
    var blackholed = false
    var stopped = false
    var accepted = 0
    var nextId = 0
    var connections: [Int: ProxiedConnection] = [:]
    var threads: [pthread_t] = []
}

/// The two sockets of one proxied connection (`upstream` is -1 until connected).
private struct ProxiedConnection {
    var client: Int32
    var upstream: Int32
}

/// The closure a thread runs.
private final class ThreadBody {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a joinable thread running `body`; nil when it cannot start (join it with
/// `pthread_join`). For test loads that block (raw sockets) off the concurrency pool.
package func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(box).release()
        return nil
    }
    return thread
}
