package import Glibc
import LedgerClient

/// A failure of the cluster test support: a node that did not start, a command that failed.
package struct ClusterError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { "ClusterError: \(message)" }
}

/// One real `kamino serve` (primary) or `kamino follow` (follower) process on 127.0.0.1,
/// with its own data directory under the cluster's temporary directory.
///
/// The first start binds ephemeral ports (`127.0.0.1:0`) and reads the ports the node
/// announces (`listening on`, `replication on`); every restart binds the same ports again,
/// so the addresses other nodes and clients hold stay valid. Not thread-safe: drive it
/// from one task. The process is killed when the value is released.
package final class ClusterNode {
    /// What the node runs as.
    package enum Role: Sendable, Equatable {
        /// `kamino serve`: the primary, with a replication listener.
        case primary
        /// `kamino follow --primary ADDRESS` (the primary's replication address).
        case follower(of: String)
        /// `kamino serve` with etcd flags (in `extra`): etcd decides whether it leads or
        /// follows, so the start waits only for the client port.
        case member
    }

    /// A short name for messages (`primary`, `follower-1`).
    package let name: String
    /// The data directory (kept across restarts; see `wipe()`).
    package let dataDir: String
    /// stdout (announcements) and stderr (logs) of every run, appended.
    package let stdoutPath: String
    package let stderrPath: String
    /// `--replication …` flags (mode, quorum, timeout), given on every start.
    package let replicationArguments: [String]
    /// Further flags given on every start (for example `--snapshot-every 50`).
    package let extraArguments: [String]
    /// The role of the current (or last) run.
    package private(set) var role: Role
    /// The client port (`listening on`).
    package private(set) var clientPort: UInt16 = 0
    /// The replication port (`replication on`), once the node announced one.
    package private(set) var replicationPort: UInt16?
    /// The running process, nil while stopped.
    package private(set) var pid: pid_t?
    private let kamino: String

    /// `127.0.0.1:PORT` of the client port.
    package var clientAddress: String { "127.0.0.1:\(clientPort)" }
    /// `127.0.0.1:PORT` of the replication port (followers connect there), if announced.
    package var replicationAddress: String? { replicationPort.map { "127.0.0.1:\($0)" } }
    /// True while a process runs (possibly paused).
    package var isRunning: Bool { pid != nil }

    /// Starts a node; throws when the binary is missing or the node does not announce its
    /// ports within `timeout` seconds (the process is killed then).
    package init(
        name: String, role: Role, in cluster: ClusterDirectory, replication: [String] = ["--replication", "async"],
        extra: [String] = [], replicationPort: UInt16? = nil, timeout: Double = 30
    ) throws(ClusterError) {
        self.replicationPort = replicationPort
        guard let kamino = builtExecutable("kamino") else {
            throw ClusterError("the kamino binary is not built next to the tests (swift build --build-tests)")
        }
        self.kamino = kamino
        self.name = name
        self.role = role
        dataDir = cluster.path + "/" + name
        stdoutPath = cluster.path + "/" + name + ".out"
        stderrPath = cluster.path + "/" + name + ".log"
        replicationArguments = replication
        extraArguments = extra
        try launch(timeout: timeout)
    }

    deinit {
        if let pid {
            kill(pid, SIGKILL)
            kill(pid, SIGCONT)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// What the node printed on stdout, all runs.
    package var announcements: String { String(decoding: fileBytes(stdoutPath), as: UTF8.self) }
    /// What the node logged on stderr, all runs.
    package var log: String { String(decoding: fileBytes(stderrPath), as: UTF8.self) }

    /// SIGKILL, and reap the process.
    package func kill9() {
        guard let pid else { return }
        kill(pid, SIGKILL)
        kill(pid, SIGCONT)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        self.pid = nil
    }

    /// SIGTERM and wait up to `timeout` seconds (then SIGKILL). Returns the exit status, or
    /// nil when it had to be killed or did not exit normally.
    @discardableResult
    package func terminate(timeout: Double = 20) -> Int32? {
        guard let pid else { return nil }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        switch waitForExit(pid, timeout: timeout) {
        case .exited(let code):
            self.pid = nil
            return code
        case .signalled:
            self.pid = nil
            return nil
        case .stillRunning:
            kill9()
            return nil
        }
    }

    /// SIGSTOP: the process stops (its sockets stay open).
    package func pause() {
        if let pid { kill(pid, SIGSTOP) }
    }

    /// SIGCONT after `pause()`.
    package func resume() {
        if let pid { kill(pid, SIGCONT) }
    }

    /// Starts the stopped node again as `role`, with its data directory and its ports.
    package func restart(as role: Role, timeout: Double = 30) throws(ClusterError) {
        precondition(pid == nil, "restart of a running node: stop it first")
        self.role = role
        try launch(timeout: timeout)
    }

    /// Deletes the stopped node's data directory.
    package func wipe() {
        precondition(pid == nil, "wipe of a running node: stop it first")
        _ = runProcess(["/bin/rm", "-rf", dataDir], log: "/dev/null")
    }

    /// `kamino wal replay` of the stopped node's directory: the `digest:` it prints.
    package func digest() throws(ClusterError) -> String {
        precondition(pid == nil, "digest of a running node: stop it first")
        let out = dataDir + ".replay"
        _ = unlink(out)
        guard runProcess([kamino, "wal", "replay", dataDir], log: out) == 0 else {
            throw ClusterError("kamino wal replay \(dataDir) failed: \(String(decoding: fileBytes(out), as: UTF8.self))")
        }
        let text = String(decoding: fileBytes(out), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("digest: ") }) else {
            throw ClusterError("kamino wal replay \(dataDir) printed no digest: \(text)")
        }
        return String(line.dropFirst("digest: ".count))
    }

    /// Waits up to `timeout` seconds for `text` to appear in the log; true if it did.
    package func waitForLog(_ text: String, timeout: Double) -> Bool {
        let deadline = monotonicClockSeconds() + timeout
        while monotonicClockSeconds() < deadline {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    /// The node's `status` JSON (docs/protocol.md, "Operations").
    package func status() async throws(ClusterError) -> String {
        try await admin { (c) async throws(KaminoClientError) -> String in try await c.status(at: ServerAddress(clientAddress)) }
    }

    /// True when the node's `status` says it is the primary (false when it cannot answer).
    package func isPrimary() async -> Bool {
        guard let status = try? await status() else { return false }
        return jsonString("role", in: status) == "primary"
    }

    /// `promote` (as `kamino promote` does): the follower becomes the primary; waits up to
    /// `timeout` seconds for its `replication on` line and returns the node's answer.
    @discardableResult
    package func promote(timeout: Double = 30) async throws(ClusterError) -> String {
        let seen = fileBytes(stdoutPath).count
        let answer = try await admin { (c) async throws(KaminoClientError) -> String in
            try await c.promote(at: ServerAddress(clientAddress))
        }
        let deadline = monotonicClockSeconds() + timeout
        while monotonicClockSeconds() < deadline {
            let lines = String(decoding: fileBytes(stdoutPath).dropFirst(seen), as: UTF8.self).split(separator: "\n")
            if let port = lines.first(where: { $0.hasPrefix("replication on ") }).flatMap(Self.port) {
                replicationPort = port
                role = .primary
                return answer
            }
            usleep(20_000)
        }
        throw ClusterError("\(name) was promoted (\(answer)) but announced no replication port within \(timeout) s")
    }

    private func admin(
        _ call: (KaminoClient) async throws(KaminoClientError) -> String
    ) async throws(ClusterError) -> String {
        let client: KaminoClient
        do {
            client = try KaminoClient(
                addresses: [clientAddress], options: KaminoClientOptions(requestTimeout: .seconds(10), retry: .none))
        } catch {
            throw ClusterError("bad address \(clientAddress): \(error)")
        }
        let result: Result<String, KaminoClientError>
        do {
            result = .success(try await call(client))
        } catch {
            result = .failure(error)
        }
        await client.close()
        switch result {
        case .success(let text): return text
        case .failure(let error): throw ClusterError("\(name) (\(clientAddress)): \(error)")
        }
    }

    private func launch(timeout: Double) throws(ClusterError) {
        let listen = "127.0.0.1:\(clientPort)"
        let replicationListen = "127.0.0.1:\(replicationPort ?? 0)"
        var argv = [kamino]
        switch role {
        case .primary, .member: argv += ["serve"]
        case .follower(let primary): argv += ["follow", "--primary", primary]
        }
        argv += [
            "--data", dataDir, "--listen", listen, "--metrics", "off", "--replication-listen", replicationListen,
            "--node-id", name,
        ]
        argv += replicationArguments + extraArguments
        let seen = fileBytes(stdoutPath).count
        guard let pid = spawnProcess(argv, stdout: stdoutPath, stderr: stderrPath) else {
            throw ClusterError("cannot start \(argv.joined(separator: " "))")
        }
        self.pid = pid
        let deadline = monotonicClockSeconds() + timeout
        while monotonicClockSeconds() < deadline {
            let lines = String(decoding: fileBytes(stdoutPath).dropFirst(seen), as: UTF8.self).split(separator: "\n")
            let client = lines.first { $0.hasPrefix("listening on ") }.flatMap(Self.port)
            let replication = lines.first { $0.hasPrefix("replication on ") }.flatMap(Self.port)
            if let client, role != .primary || replication != nil {
                clientPort = client
                if let replication { replicationPort = replication }
                return
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                self.pid = nil
                throw ClusterError("\(name) exited during start-up (\(argv.joined(separator: " "))):\n\(tail(log))")
            }
            usleep(20_000)
        }
        kill9()
        throw ClusterError("\(name) did not announce its ports within \(timeout) s:\n\(tail(log))")
    }

    /// The port at the end of an announcement line (`… HOST:PORT`).
    private static func port(_ line: Substring) -> UInt16? {
        guard let colon = line.lastIndex(of: ":") else { return nil }
        return UInt16(line[line.index(after: colon)...])
    }

    private func tail(_ text: String) -> String {
        text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }
}

/// A temporary directory for one test's nodes, removed (with everything in it) by
/// `remove()`.
package struct ClusterDirectory: Sendable {
    /// The directory's path.
    package let path: String

    /// Makes a fresh directory `/tmp/kamino-cluster-TAG-XXXXXX`.
    package init(_ tag: String) throws(ClusterError) {
        var template = Array("/tmp/kamino-cluster-\(tag)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) } != nil
        }
        guard made else { throw ClusterError("cannot make a temporary directory for \(tag)") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Deletes the directory.
    package func remove() {
        precondition(path.hasPrefix("/tmp/kamino-cluster-"), "only cluster directories are removed")
        _ = runProcess(["/bin/rm", "-rf", path], log: "/dev/null")
    }
}

/// Seconds on the monotonic clock.
package func monotonicClockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds since the epoch on the wall clock (acknowledgement timelines across processes).
package func wallClockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The first number after `"key":` in a JSON text (the status object's top-level fields
/// come before its `followers` array); nil when absent.
package func jsonNumber(_ key: String, in json: String) -> UInt64? {
    guard let range = json.firstRange(of: "\"\(key)\":") else { return nil }
    let digits = json[range.upperBound...].drop { $0 == " " }.prefix { $0.isASCII && $0.isNumber }
    return UInt64(digits)
}

/// The string after `"key":` in a JSON text (no escapes); nil when absent.
package func jsonString(_ key: String, in json: String) -> String? {
    guard let range = json.firstRange(of: "\"\(key)\":\"") else { return nil }
    return String(json[range.upperBound...].prefix { $0 != "\"" })
}

/// A loopback TCP port that was free a moment ago (for a node whose replication port must
/// be known before it listens: a proxy in front of it).
package func freeLoopbackTCPPort() -> UInt16? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, length) == 0 && getsockname(fd, p, &length) == 0
        }
    }
    return ok ? UInt16(bigEndian: addr.sin_port) : nil
}

/// How a child process ended, as `waitForExit` saw it.
package enum ChildExit: Equatable {
    case exited(Int32)
    case signalled
    case stillRunning
}

/// Reaps `pid` if it ends within `timeout` seconds (polling every 10 ms).
package func waitForExit(_ pid: pid_t, timeout: Double) -> ChildExit {
    let deadline = monotonicClockSeconds() + timeout
    var status: Int32 = 0
    while monotonicClockSeconds() < deadline {
        if waitpid(pid, &status, WNOHANG) == pid {
            return status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signalled
        }
        usleep(10_000)
    }
    return .stillRunning
}
