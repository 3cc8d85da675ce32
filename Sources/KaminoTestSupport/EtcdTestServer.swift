package import Glibc
import Synchronization

/// Why an `EtcdTestServer` could not start.
package struct EtcdTestServerError: Error, CustomStringConvertible {
    /// What went wrong, with the tail of etcd's log when it ran.
    package var message: String
    /// The message.
    package var description: String { message }
}

/// A real single-member `etcd` on 127.0.0.1 for tests: free ephemeral client and peer ports,
/// a temporary data dir, and fast Raft timings (`--heartbeat-interval 50
/// --election-timeout 250`) so that 1 s lease TTLs are allowed. Stopped (and its directory
/// removed) by `stop()` or when released.
package final class EtcdTestServer: Sendable {
    /// The process id.
    package let pid: pid_t
    /// The client port (the JSON gateway answers on it too).
    package let clientPort: UInt16
    /// The temporary directory holding the data dir and `etcd.log`.
    package let directory: String
    /// Whether the process was reaped and the directory removed.
    private let state = Mutex((exited: false, removed: false))

    /// `127.0.0.1:<clientPort>`, the form `EtcdClient` takes.
    package var endpoint: String { "127.0.0.1:\(clientPort)" }

    /// Where etcd writes its log.
    package var logPath: String { directory + "/etcd.log" }

    /// Starts etcd and waits (at most `readyTimeout` seconds) until `/health` answers.
    /// Retries with other ports if etcd exits early (a port taken between picking and binding).
    /// Fails with a message naming `scripts/setup test` when etcd is not installed.
    package static func start(readyTimeout: Double = 15) throws(EtcdTestServerError) -> EtcdTestServer {
        guard let etcd = etcdExecutable() else {
            throw EtcdTestServerError(message: "etcd is not installed (looked in PATH and /usr/bin): run `scripts/setup test`")
        }
        var lastFailure = ""
        for _ in 0..<3 {
            guard let directory = makeTemporaryDirectory("kamino-etcd") else {
                throw EtcdTestServerError(message: "cannot create a temporary directory under /tmp")
            }
            guard let clientPort = freeLoopbackPort(), let peerPort = freeLoopbackPort(), clientPort != peerPort else {
                removeDirectory(directory)
                throw EtcdTestServerError(message: "cannot find free loopback ports")
            }
            let client = "http://127.0.0.1:\(clientPort)"
            let peer = "http://127.0.0.1:\(peerPort)"
            let argv = [
                etcd, "--name", "kamino-test", "--data-dir", directory + "/data",
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "kamino-test=\(peer)", "--initial-cluster-state", "new",
                "--heartbeat-interval", "50", "--election-timeout", "250",
            ]
            let log = directory + "/etcd.log"
            guard let pid = spawnProcess(argv, stdout: log, stderr: log) else {
                removeDirectory(directory)
                throw EtcdTestServerError(message: "cannot start \(etcd)")
            }
            let server = EtcdTestServer(pid: pid, clientPort: clientPort, directory: directory)
            let deadline = monotonicNow() + readyTimeout
            while monotonicNow() < deadline {
                if server.reapIfExited() { break }
                if healthAnswers(port: clientPort) { return server }
                usleep(50_000)
            }
            lastFailure = "etcd did not become healthy within \(readyTimeout) s on port \(clientPort); log tail:\n" + server.logTail()
            server.stop()
        }
        throw EtcdTestServerError(message: lastFailure)
    }

    private init(pid: pid_t, clientPort: UInt16, directory: String) {
        self.pid = pid
        self.clientPort = clientPort
        self.directory = directory
    }

    /// Freezes etcd (SIGSTOP): it keeps its sockets, so connections are accepted by the
    /// kernel but nothing answers (a partition, as the client sees it).
    package func pause() {
        precondition(!state.withLock { $0.exited }, "pause() after etcd exited")
        kill(pid, SIGSTOP)
        // kill() returns before the stop takes hold: a thread running on the other core can
        // still answer a request. Wait (up to 2 s) until every thread shows as stopped.
        let deadline = monotonicNow() + 2
        while !allThreadsStopped(pid), monotonicNow() < deadline { usleep(1_000) }
    }

    /// Lets a paused etcd run again (SIGCONT).
    package func resume() {
        precondition(!state.withLock { $0.exited }, "resume() after etcd exited")
        kill(pid, SIGCONT)
    }

    /// Stops etcd (SIGTERM, then SIGKILL after 5 s), reaps it and removes its directory.
    /// Idempotent.
    package func stop() {
        let (wasExited, wasRemoved) = state.withLock { state in
            defer { state = (true, true) }
            return (state.exited, state.removed)
        }
        if !wasExited {
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
            let deadline = monotonicNow() + 5
            var status: Int32 = 0
            var reaped = false
            while monotonicNow() < deadline {
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid || r < 0 {
                    reaped = true
                    break
                }
                usleep(10_000)
            }
            if !reaped {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
        }
        if !wasRemoved { removeDirectory(directory) }
    }

    /// The last 2,000 characters of etcd's log.
    package func logTail() -> String {
        String(String(decoding: fileBytes(logPath), as: UTF8.self).suffix(2000))
    }

    /// True (and the process reaped) if etcd has exited on its own.
    private func reapIfExited() -> Bool {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        state.withLock { $0.exited = true }
        return true
    }

    deinit { stop() }
}

/// `etcd` from PATH, else `/usr/bin/etcd`, if executable.
private func etcdExecutable() -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? ""
    for dir in path.split(separator: ":").map(String.init) + ["/usr/bin"] {
        let candidate = dir + "/etcd"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
private func freeLoopbackPort() -> UInt16? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { return nil }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { return nil }
    return UInt16(bigEndian: address.sin_port)
}

/// True if `GET /health` on 127.0.0.1:port answers `"health":"true"` within 1 s.
private func healthAnswers(port: UInt16) -> Bool {
    guard let fd = connectLoopback(port, timeoutSeconds: 1) else { return false }
    defer { close(fd) }
    let request = Array("GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
    var reply: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1024)
    while reply.count < 16_384 {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        reply.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: reply, as: UTF8.self).contains("\"health\":\"true\"")
}

/// A new directory `/tmp/<prefix>-XXXXXX`.
private func makeTemporaryDirectory(_ prefix: String) -> String? {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress.flatMap { mkdtemp($0) } != nil
    }
    guard made else { return nil }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes a directory made by `makeTemporaryDirectory` (only under /tmp/kamino-etcd-).
private func removeDirectory(_ path: String) {
    precondition(path.hasPrefix("/tmp/kamino-etcd-"), "refusing to remove \(path)")
    _ = runProcess(["/bin/rm", "-rf", path], log: "/dev/null")
}

/// Seconds on the monotonic clock.
private func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// True when every thread of `pid` is in the stopped state (`T` or `t` in
/// /proc/<pid>/task/<tid>/stat), false otherwise or when they cannot be read.
private func allThreadsStopped(_ pid: pid_t) -> Bool {
    guard let dir = opendir("/proc/\(pid)/task") else { return false }
    defer { closedir(dir) }
    var seen = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard !name.hasPrefix(".") else { continue }
        let stat = fileBytes("/proc/\(pid)/task/\(name)/stat")
        // "tid (comm) S ...": the state is the first field after the last ')'.
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count else { return false }
        let state = stat[close + 2]
        guard state == UInt8(ascii: "T") || state == UInt8(ascii: "t") else { return false }
        seen += 1
    }
    return seen > 0
}
