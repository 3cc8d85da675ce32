import ArgumentParser
import Glibc
import LedgerStorage

/// Writes a line straight to stdout, unbuffered (tests and scripts wait for these lines).
func announce(_ line: String) {
    writeLine(line, to: 1)
}

/// Writes `line` and a newline to a file descriptor, bypassing stdio buffering.
func writeLine(_ line: String, to fd: Int32) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        offset += n
    }
}

/// The process environment as a dictionary.
func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let pair = String(cString: entry)
        if let eq = pair.firstIndex(of: "=") {
            result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        cursor += 1
    }
    return result
}

/// Raises the soft limit on open files to the hard limit (thousands of connections).
func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// `mkdir -p` (LedgerStorage's, the package's one).
func makeDirectories(_ path: String) throws(StartupError) {
    do { try FileIO.makeDirectory(path) } catch {
        throw StartupError("cannot create directory \(path): \(error)")
    }
}

/// A start-up failure outside the ledger and the server (for example creating the data dir).
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints `message` on stderr and returns the exit code of a failed start.
func exitFailure(_ message: String) -> ExitCode {
    writeLine(message, to: 2)
    return ExitCode.failure
}
