package import Glibc

/// Facts about this machine and processes, from sysconf and /proc.
package enum SystemProbe {
    /// Online cores and physical memory.
    package static func machine() -> MachineInfo {
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        return MachineInfo(cores: max(1, cores), memoryBytes: max(0, pages) * max(0, size))
    }

    /// The resident set size of process `pid` (VmRSS), or nil.
    package static func residentBytes(pid: pid_t) -> Int? {
        let text = readSmallFile("/proc/\(pid)/status")
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.split(separator: " ").dropFirst().first { Int($0) != nil }
            return digits.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// True when standard output is a terminal.
    package static var stdoutIsTerminal: Bool { isatty(1) != 0 }

    /// A small text file's content (empty if unreadable).
    package static func readSmallFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while out.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A whole file's text, up to `maxBytes`; throws when it cannot be read or is larger.
    package static func readFile(_ path: String, maxBytes: Int = 256 << 20) throws(BenchError) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchError(.invalidOption, "cannot open \(path): \(errorText(errno))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw BenchError(.invalidOption, "cannot read \(path): \(errorText(errno))") }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maxBytes else { throw BenchError(.invalidOption, "\(path) is larger than \(maxBytes) bytes") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Checks, before a run, that `path` can be written: creates it (and removes it again)
    /// when it does not exist, opens it for writing without truncating when it does.
    package static func checkWritable(_ path: String, option: String) throws(BenchError) {
        func fail(_ e: Int32) -> BenchError {
            BenchError(.writeFailed, "\(option) \(path) cannot be written: \(errorText(e))")
        }
        let created = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if created >= 0 {
            close(created)
            unlink(path)
            return
        }
        let e = errno
        guard e == EEXIST else { throw fail(e) }
        let existing = open(path, O_WRONLY)
        guard existing >= 0 else { throw fail(errno) }
        close(existing)
    }

    /// `strerror` text of an errno value: `No such file or directory (errno 2)`.
    package static func errorText(_ e: Int32) -> String {
        guard let text = strerror(e) else { return "errno \(e)" }
        return String(cString: text) + " (errno \(e))"
    }

    /// Writes `text` to `path` (created or truncated).
    package static func writeFile(_ path: String, _ text: String) throws(BenchError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw BenchError(.writeFailed, "cannot open \(path): \(errorText(errno))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchError(.writeFailed, "cannot write \(path): errno \(errno)") }
            offset += n
        }
    }

    /// Writes `text` to a file descriptor, unbuffered.
    package static func emit(_ text: String, fd: Int32 = 1) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }
}
