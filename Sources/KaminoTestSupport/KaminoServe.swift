package import Glibc

/// A `kamino serve` on 127.0.0.1 with an ephemeral port and a temporary data directory,
/// stopped by pid: for tests that need one plain server and nothing else.
package struct KaminoServe: Sendable {
    package let pid: pid_t
    package let port: Int
    /// The temporary directory holding the data directory and the output.
    package let directory: String

    /// `127.0.0.1:PORT`.
    package var address: String { "127.0.0.1:\(port)" }

    /// Starts the server and waits up to 30 s for its `listening on` line; nil when the
    /// binary is missing or the line does not come.
    package static func start() -> KaminoServe? {
        guard let kamino = builtExecutable("kamino") else { return nil }
        var template = Array("/tmp/kamino-serve-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            return nil
        }
        let directory = String(cString: made)
        let out = directory + "/out"
        let argv = [kamino, "serve", "--data", directory + "/data", "--listen", "127.0.0.1:0", "--metrics", "off"]
        guard let pid = spawnProcess(argv, stdout: out, stderr: out) else { return nil }
        for _ in 0..<600 {
            let text = String(decoding: fileBytes(out), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...])
            {
                return KaminoServe(pid: pid, port: port, directory: directory)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {  // it exited: nothing to stop
                _ = runProcess(["/bin/rm", "-rf", directory], log: "/dev/null")
                return nil
            }
            usleep(50_000)
        }
        KaminoServe(pid: pid, port: 0, directory: directory).stop()
        return nil
    }

    /// SIGTERM, reap, remove the directory.
    package func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        precondition(directory.hasPrefix("/tmp/kamino-serve-"), "only the test's own directory is removed")
        _ = runProcess(["/bin/rm", "-rf", directory], log: "/dev/null")
    }
}
