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

    /// Writes `text` to `path` (created or truncated).
    package static func writeFile(_ path: String, _ text: String) throws(BenchError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw BenchError(.writeFailed, "cannot open \(path): errno \(errno)") }
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
