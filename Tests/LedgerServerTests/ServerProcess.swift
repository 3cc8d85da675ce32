import KaminoTestSupport
import Glibc
import Testing

/// A real `kamino serve` process on 127.0.0.1 with an ephemeral port and its own data dir.
final class ServerProcess {
    let pid: pid_t
    let port: UInt16
    let dataDir: String
    let outputPath: String
    /// The metrics port, when started with `metrics: true`.
    let metricsPort: UInt16?
    private var exited = false

    /// Starts `kamino serve --data dataDir --listen 127.0.0.1:0 --metrics off` (or another
    /// `command` taking those flags, such as `follow`) and waits for its `listening on`
    /// line. Returns nil (after killing it) if it does not come. `launcher` runs first and
    /// execs the server (`/bin/sh -c '…; exec "$0" "$@"'`, to set limits before the exec).
    static func start(
        dataDir: String, extra: [String] = [], metrics: Bool = false, command: String = "serve",
        launcher: [String] = []
    ) -> ServerProcess? {
        guard let kamino = builtExecutable("kamino") else { return nil }
        let out = dataDir + ".out"
        _ = unlink(out)
        let argv = launcher + [kamino, command, "--data", dataDir, "--listen", "127.0.0.1:0",
                    "--metrics", metrics ? "127.0.0.1:0" : "off"] + extra
        guard let pid = spawnProcess(argv, stdout: out, stderr: out) else { return nil }
        let deadline = monotonicSeconds() + 30
        while monotonicSeconds() < deadline {
            let text = String(decoding: fileBytes(out), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
               let colon = line.lastIndex(of: ":"), let port = UInt16(line[line.index(after: colon)...]) {
                let metricsLine = text.split(separator: "\n").first { $0.hasPrefix("metrics on ") }
                let metricsPort = metricsLine.flatMap { l in l.lastIndex(of: ":").flatMap { UInt16(l[l.index(after: $0)...]) } }
                if metrics && metricsPort == nil { return nil }
                return ServerProcess(pid: pid, port: port, dataDir: dataDir, outputPath: out, metricsPort: metricsPort)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return nil }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return nil
    }

    /// The port of a line `<prefix>HOST:PORT` in the process's output, waiting up to
    /// `timeout` seconds for it; nil if it does not come.
    func announcedPort(_ prefix: String, timeout: Double = 15) -> UInt16? {
        let deadline = monotonicSeconds() + timeout
        repeat {
            let text = String(decoding: fileBytes(outputPath), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
               let colon = line.lastIndex(of: ":") {
                return UInt16(line[line.index(after: colon)...])
            }
            usleep(20_000)
        } while monotonicSeconds() < deadline
        return nil
    }

    private init(pid: pid_t, port: UInt16, dataDir: String, outputPath: String, metricsPort: UInt16?) {
        self.metricsPort = metricsPort
        self.pid = pid
        self.port = port
        self.dataDir = dataDir
        self.outputPath = outputPath
    }

    /// Sends SIGTERM and waits (up to `timeout` s) for the exit; returns the exit status, or
    /// nil if it had to be killed or did not exit normally.
    @discardableResult
    func terminate(timeout: Double = 20) -> Int32? {
        guard !exited else { return nil }
        kill(pid, SIGTERM)
        let deadline = monotonicSeconds() + timeout
        var status: Int32 = 0
        while monotonicSeconds() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                return status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        exited = true
        return nil
    }

    /// Sends SIGTERM and expects exit status 0. On anything else the test records the end
    /// of the server's output, which the test's directory cleanup would otherwise delete.
    func expectCleanExit(timeout: Double = 20, sourceLocation: SourceLocation = #_sourceLocation) {
        let status = terminate(timeout: timeout)
        #expect(
            status == 0,
            "the server did not exit 0 on SIGTERM (status \(status.map { String($0) } ?? "none: killed or signalled")); its output ends:\n\(output.suffix(4000))",
            sourceLocation: sourceLocation)
    }

    /// Sends SIGKILL and reaps the process; returns true if it was still running (it died
    /// of the SIGKILL), false if it had already exited on its own or was stopped before.
    @discardableResult
    func killHard() -> Bool {
        guard !exited else { return false }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exited = true
        return status & 0x7F == SIGKILL
    }

    /// What the server printed.
    var output: String { String(decoding: fileBytes(outputPath), as: UTF8.self) }

    deinit {
        if !exited {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// A fresh, empty temporary directory path (not created: the server creates it).
func temporaryDataDir(_ tag: String) -> String {
    var template = Array("/tmp/kamino-server-\(tag)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress.flatMap { mkdtemp($0) } != nil
    }
    guard made else { return "/tmp/kamino-server-\(tag)-\(getpid())/data" }
    let path = template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: path, as: UTF8.self) + "/data"
}

/// Removes a data dir made by `temporaryDataDir` (and its parent).
func removeDataDir(_ path: String) {
    guard let slash = path.lastIndex(of: "/") else { return }
    let parent = String(path[..<slash])
    guard parent.hasPrefix("/tmp/kamino-server-") else { return }
    _ = runProcess(["/bin/rm", "-rf", parent], log: "/dev/null")
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Raises this process's open-file limit (inherited by servers it starts) to `wanted`.
func raiseOpenFileLimit(to wanted: rlim_t) -> rlim_t {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
    if limit.rlim_cur < wanted {
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return limit.rlim_cur
}
