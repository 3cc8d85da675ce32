import Glibc
import KaminoTestSupport
import Testing

/// A supervisor may send SIGTERM the moment it reads `listening on`. That must be a
/// graceful shutdown (exit 0, the log closed), not the signal's default action: before
/// `listening on` moved behind the service group's signal trap, 18 of 20 such stops killed
/// the server.
@Suite struct PromptSignalTests {
    @Test func sigtermRightAfterListeningOnIsAGracefulShutdown() throws {
        let kamino = try #require(builtExecutable("kamino"))
        for round in 0..<8 {
            let dir = temporaryDataDir("prompt-signal")
            defer { removeDataDir(dir) }
            let fifo = dir + ".fifo"
            #expect(mkfifo(fifo, 0o600) == 0)
            // The reader opens first (non-blocking), so the server's open for writing does not wait.
            let reader = open(fifo, O_RDONLY | O_NONBLOCK)
            try #require(reader >= 0)
            defer { close(reader) }
            let argv = [kamino, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--metrics", "off"]
            let pid = try #require(spawnProcess(argv, stdout: fifo, stderr: fifo))
            var output: [UInt8] = []
            var signalled = false
            var status: Int32 = 0
            var exited = false
            let deadline = monotonicSeconds() + 30
            var buffer = [UInt8](repeating: 0, count: 4096)
            while monotonicSeconds() < deadline {
                let n = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n > 0 { output += buffer[..<n] }
                if !signalled, String(decoding: output, as: UTF8.self).contains("listening on ") {
                    kill(pid, SIGTERM)  // at once: no sleep between reading the line and the signal
                    signalled = true
                }
                if waitpid(pid, &status, WNOHANG) == pid {
                    exited = true
                    break
                }
                if n <= 0 { usleep(200) }
            }
            if !exited {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
            while true {
                let n = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                output += buffer[..<n]
            }
            let text = String(decoding: output, as: UTF8.self)
            #expect(signalled, "round \(round): no `listening on`: \(text)")
            #expect(exited && status & 0x7F == 0 && (status >> 8) & 0xFF == 0,
                    "round \(round): status \(status), not a clean exit on SIGTERM: \(text.suffix(3000))")
            #expect(text.contains("stopped: the log is closed"), "round \(round): \(text.suffix(3000))")
        }
    }
}
