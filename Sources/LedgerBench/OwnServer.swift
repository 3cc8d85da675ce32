package import Glibc

/// The `kamino serve` process the bench starts when no `--address` is given: the same
/// binary, on 127.0.0.1 with an ephemeral port, its real log (fsync) in a temporary data
/// directory (removed at the end) or in `--data DIR` (kept). With `--followers N`, the
/// bench starts its followers (`kamino follow`) the same way (see `OwnFollowers`).
package final class OwnServer: @unchecked Sendable {
    // @unchecked: `exited` and `removed` are only touched by the one task that owns the server.
    package let pid: pid_t
    package let address: String
    package let dataDirectory: String
    private let scratch: String?
    private let outputPath: String
    private var exited = false
    private var removed = false

    private init(pid: pid_t, address: String, dataDirectory: String, scratch: String?, outputPath: String) {
        self.pid = pid
        self.address = address
        self.dataDirectory = dataDirectory
        self.scratch = scratch
        self.outputPath = outputPath
    }

    /// Starts `executable serve` (or `follow`) and waits (up to 60 s) for its `listening on` line.
    /// - Parameters:
    ///   - command: the subcommand, `serve` or `follow`.
    ///   - keepData: the data directory to use and keep; nil: a temporary one.
    ///   - extra: more arguments (e.g. `--shards N`).
    ///   - metrics: the `--metrics` address (`off`, or `127.0.0.1:0` to read LSNs from it).
    package static func start(
        executable: String, command: String = "serve", keepData: String?, extra: [String], metrics: String = "off"
    ) throws(BenchError) -> OwnServer {
        var scratch: String?
        let data: String
        let output: String
        if let keepData {
            data = keepData
            output = "/tmp/kamino-bench-\(command)-\(getpid()).out"
        } else {
            var template = Array("/tmp/kamino-bench-XXXXXX".utf8CString)
            let ok = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } != nil }
            guard ok else { throw BenchError(.serverStart, "cannot create a temporary directory: errno \(errno)") }
            let dir = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            scratch = dir
            data = dir + "/data"
            output = dir + "/server.out"
        }
        let argv = [executable, command, "--data", data, "--listen", "127.0.0.1:0", "--metrics", metrics] + extra
        guard let pid = spawn(argv, output: output) else {
            throw BenchError(.serverStart, "cannot start \(executable): errno \(errno)")
        }
        let deadline = monotonicNanos() + 60_000_000_000
        while monotonicNanos() < deadline {
            let text = SystemProbe.readSmallFile(output)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                let address = String(line.dropFirst("listening on ".count))
                return OwnServer(pid: pid, address: address, dataDirectory: data, scratch: scratch, outputPath: output)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                Interrupt.unregister(child: pid)
                throw BenchError(.serverStart, "the server exited at start: \(text.suffix(2000))")
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Interrupt.unregister(child: pid)
        throw BenchError(.serverStart, "the server did not print `listening on` within 60 s")
    }

    /// True when the process has exited (a zombie not yet reaped counts as exited);
    /// reads /proc and reaps nothing, so `halt()` still collects its status.
    package var hasExited: Bool {
        let stat = SystemProbe.readSmallFile("/proc/\(pid)/stat")
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "Z" || state == "X"
    }

    /// Resident memory of the server now.
    package var residentBytes: Int? { exited ? nil : SystemProbe.residentBytes(pid: pid) }

    /// Everything the process printed so far (stdout and stderr, its first MiB).
    package var output: String { SystemProbe.readSmallFile(outputPath) }

    /// The rest of the first output line that starts with `prefix` (e.g. `replication on `),
    /// waiting up to `seconds` for it.
    package func awaitLine(_ prefix: String, seconds: Double) throws(BenchError) -> String {
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        while true {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line.dropFirst(prefix.count))
            }
            guard monotonicNanos() < deadline, !exited, kill(pid, 0) == 0 else {
                throw BenchError(.serverStart, "no `\(prefix)` line from pid \(pid) within \(Int(seconds)) s")
            }
            usleep(20_000)
        }
    }

    /// SIGTERM, waits up to 60 s for a clean exit (SIGKILL after), removes a temporary
    /// data directory. Returns the exit status, or nil if it had to be killed.
    @discardableResult
    package func stop() -> Int32? {
        let status = halt()
        removeData()
        return status
    }

    /// Removes a temporary data directory (and the output file); call after `halt()`.
    package func removeData() {
        precondition(exited, "the data of a running server cannot be removed")
        guard !removed else { return }
        removed = true
        if let scratch { removeTree(scratch) } else { unlink(outputPath) }
    }

    /// SIGTERM, waits up to 60 s for a clean exit (SIGKILL after); keeps the data directory
    /// (for `wal replay`). Returns the exit status, or nil if it had to be killed.
    @discardableResult
    package func halt() -> Int32? {
        guard !exited else { return nil }
        exited = true
        kill(pid, SIGTERM)
        let deadline = monotonicNanos() + 60_000_000_000
        var status: Int32 = 0
        var result: Int32?
        var reaped = false
        while monotonicNanos() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                reaped = true
                result = status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
                break
            }
            usleep(10_000)
        }
        if !reaped {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        Interrupt.unregister(child: pid)
        return result
    }

    deinit {
        if !exited {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            Interrupt.unregister(child: pid)
        }
        if !removed, let scratch { removeTree(scratch) }
    }

    /// Runs `argv` to completion (up to `seconds`, SIGKILL after) with its output in
    /// `output`; returns the exit status (nil: killed, or it could not start) and the output.
    package static func runToEnd(_ argv: [String], output: String, seconds: Double) -> (status: Int32?, text: String) {
        guard let pid = spawn(argv, output: output) else { return (nil, "cannot start \(argv[0]): errno \(errno)") }
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        var status: Int32 = 0
        defer { Interrupt.unregister(child: pid) }
        while waitpid(pid, &status, WNOHANG) != pid {
            if monotonicNanos() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return (nil, SystemProbe.readSmallFile(output))
            }
            usleep(10_000)
        }
        return (status & 0x7F == 0 ? (status >> 8) & 0xFF : nil, SystemProbe.readSmallFile(output))
    }

    private static func spawn(_ argv: [String], output: String) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // A process group of its own: Ctrl-C at the terminal stops the bench's run, not
        // the server that the bench still needs for the money check (see `Interrupt`).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid = pid_t()
        guard posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ) == 0 else { return nil }
        Interrupt.register(child: pid)
        return pid
    }
}

/// `rm -rf path` for a directory tree the bench made (files and subdirectories only).
func removeTree(_ path: String) {
    guard let dir = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        var st = stat()
        if lstat(child, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            removeTree(child)
        } else {
            unlink(child)
        }
    }
    closedir(dir)
    rmdir(path)
}
