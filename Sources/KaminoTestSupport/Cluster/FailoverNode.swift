package import Glibc

/// One real `kamino serve` process of a cluster with automatic failover through etcd:
/// every node runs the same command and etcd decides which one is the primary.
///
/// Two `TCPFaultProxy`s stand in front of the node so that a test can cut it off:
/// `etcdProxy` carries its etcd traffic (`--etcd` points there), and `replicationProxy`
/// is the replication address it publishes when it leads (`--advertise-replication`), so
/// followers reach it only through the proxy. Clients reach the node directly.
///
/// The first start binds an ephemeral client port (read from `listening on`); the
/// replication port is picked before the first start (the proxy needs it). Every restart
/// binds the same ports again. Not thread-safe: drive it from one task. The process is
/// killed when the value is released; call `stopProxies()` before releasing it.
package final class FailoverNode {
    /// The node id (`--node-id`), also its directory name (`n1`, `n2`, ...).
    package let name: String
    /// The data directory (kept across restarts).
    package let dataDir: String
    /// stdout (announcements) and stderr (logs) of every run, appended.
    package let stdoutPath: String
    package let stderrPath: String
    /// The proxy in front of etcd that this node talks to.
    package let etcdProxy: TCPFaultProxy
    /// The proxy in front of this node's replication port (what followers connect to).
    package let replicationProxy: TCPFaultProxy
    /// The replication port the node binds when it leads.
    package let replicationPort: UInt16
    /// The client port (`listening on`).
    package private(set) var clientPort: UInt16 = 0
    /// The running process, nil while stopped.
    package private(set) var pid: pid_t?
    /// Whether the process is stopped by `pause()`.
    package private(set) var isPaused = false
    private let kamino: String
    private let arguments: [String]

    /// `127.0.0.1:PORT` of the client port.
    package var clientAddress: String { "127.0.0.1:\(clientPort)" }
    /// True while a process runs (possibly paused).
    package var isRunning: Bool { pid != nil }

    /// Starts node `name` in `cluster`, its etcd traffic going to 127.0.0.1:`etcdPort`
    /// through a new proxy. `replication` holds the `--replication ...` and sync flags,
    /// `failover` the `--cluster` and `--lease-ttl-ms` flags. Throws when the binary is
    /// missing or the node does not announce its client port within `timeout` seconds.
    package init(
        name: String, in cluster: ClusterDirectory, etcdPort: UInt16, replication: [String], failover: [String],
        timeout: Double = 30
    ) throws(ClusterError) {
        guard let kamino = builtExecutable("kamino") else {
            throw ClusterError("the kamino binary is not built next to the tests (swift build --build-tests)")
        }
        guard let port = freeLoopbackPort() else { throw ClusterError("no free loopback port for \(name)") }
        self.kamino = kamino
        self.name = name
        dataDir = cluster.path + "/" + name
        stdoutPath = cluster.path + "/" + name + ".out"
        stderrPath = cluster.path + "/" + name + ".log"
        replicationPort = port
        etcdProxy = try TCPFaultProxy(upstreamPort: etcdPort)
        do throws(ClusterError) {
            replicationProxy = try TCPFaultProxy(upstreamPort: port)
        } catch {
            etcdProxy.stop()
            throw error
        }
        arguments =
            replication + failover + [
                "--replication-listen", "127.0.0.1:\(port)", "--advertise-replication", replicationProxy.address,
                "--etcd", etcdProxy.address, "--node-id", name, "--metrics", "off",
            ]
        do throws(ClusterError) {
            try launch(timeout: timeout)
        } catch {
            stopProxies()
            throw error
        }
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

    /// How many log lines (all runs) contain `text`.
    package func logCount(_ text: String) -> Int {
        log.split(separator: "\n").filter { $0.contains(text) }.count
    }

    /// SIGKILL, and reap the process.
    package func kill9() {
        guard let pid else { return }
        kill(pid, SIGKILL)
        kill(pid, SIGCONT)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        self.pid = nil
        isPaused = false
    }

    /// SIGTERM and wait up to `timeout` seconds (then SIGKILL). Returns the exit status,
    /// or nil when it had to be killed or did not exit normally.
    @discardableResult
    package func terminate(timeout: Double = 20) -> Int32? {
        guard let pid else { return nil }
        kill(pid, SIGCONT)
        isPaused = false
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
        guard let pid else { return }
        kill(pid, SIGSTOP)
        isPaused = true
    }

    /// SIGCONT after `pause()`.
    package func resume() {
        guard let pid else { return }
        kill(pid, SIGCONT)
        isPaused = false
    }

    /// Cuts the node off from etcd and from its followers (both proxies blackholed);
    /// clients still reach it directly.
    package func partition() {
        etcdProxy.blackhole()
        replicationProxy.blackhole()
    }

    /// Ends `partition()`.
    package func heal() {
        etcdProxy.heal()
        replicationProxy.heal()
    }

    /// True while `partition()` holds.
    package var isPartitioned: Bool { etcdProxy.isBlackholed || replicationProxy.isBlackholed }

    /// Starts the stopped node again with its data directory and its ports.
    package func restart(timeout: Double = 30) throws(ClusterError) {
        precondition(pid == nil, "restart of a running node: stop it first")
        try launch(timeout: timeout)
    }

    /// Stops both proxies (joins their threads). Call once the process is stopped.
    package func stopProxies() {
        etcdProxy.stop()
        replicationProxy.stop()
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

    private func launch(timeout: Double) throws(ClusterError) {
        let argv =
            [kamino, "serve", "--data", dataDir, "--listen", "127.0.0.1:\(clientPort)"] + arguments
        let seen = fileBytes(stdoutPath).count
        guard let pid = spawnProcess(argv, stdout: stdoutPath, stderr: stderrPath) else {
            throw ClusterError("cannot start \(argv.joined(separator: " "))")
        }
        self.pid = pid
        isPaused = false
        let deadline = monotonicClockSeconds() + timeout
        while monotonicClockSeconds() < deadline {
            let lines = String(decoding: fileBytes(stdoutPath).dropFirst(seen), as: UTF8.self).split(separator: "\n")
            if let line = lines.first(where: { $0.hasPrefix("listening on ") }), let colon = line.lastIndex(of: ":"),
                let port = UInt16(line[line.index(after: colon)...])
            {
                clientPort = port
                return
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                self.pid = nil
                throw ClusterError("\(name) exited during start-up (\(argv.joined(separator: " "))):\n\(logTail())")
            }
            usleep(20_000)
        }
        kill9()
        throw ClusterError("\(name) did not announce its client port within \(timeout) s:\n\(logTail())")
    }

    /// The last 20 lines of the log.
    /// The last `lines` lines of the node's log; when the node crashed, the crash report's
    /// first lines (the failed check and its frames) come first, since a backtrace is longer
    /// than any tail.
    package func logTail(_ lines: Int = 20) -> String {
        let all = log.split(separator: "\n")
        var out: [Substring] = []
        if let crash = all.firstIndex(where: { $0.contains("Fatal error") || $0.contains("💣") || $0.contains("Crash") }) {
            out += ["(crash report)"] + all[crash..<min(all.count, crash + 40)] + ["(log tail)"]
        }
        return (out + all.suffix(lines)).joined(separator: "\n")
    }
}

/// True when an `etcd` executable is in PATH or /usr/bin (the failover tests need one).
package func etcdIsInstalled() -> Bool {
    let path = getenv("PATH").map { String(cString: $0) } ?? ""
    return (path.split(separator: ":").map(String.init) + ["/usr/bin"]).contains { access($0 + "/etcd", X_OK) == 0 }
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
private func freeLoopbackPort() -> UInt16? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
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
