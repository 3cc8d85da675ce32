#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The memory this process may use: the machine's physical memory, or less where a cgroup
/// limits it (v2 `memory.max`, v1 `memory.limit_in_bytes`), as in most containers. A
/// start-up reservation checked against physical memory alone passes in a container and
/// then meets the out-of-memory killer.
package struct MemoryLimit: Sendable, Equatable {
    /// The limit in bytes.
    package let bytes: Int
    /// What sets it, for messages: "this machine's memory" or "the cgroup limit (FILE)".
    package let source: String

    package init(bytes: Int, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// The lowest of physical memory and every cgroup limit that applies to this process;
    /// nil when none can be read.
    package static func current() -> MemoryLimit? {
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let files = cgroupLimitFiles(cgroups: readSmallFile("/proc/self/cgroup"), root: "/sys/fs/cgroup")
        return lowest(physical: physical, limits: files.map { ($0, readSmallFile($0)) })
    }

    /// The lowest positive limit among physical memory and `limits` (file, content). A
    /// content that is not a number (v2's `max`) or a v1 "unlimited" value (above physical
    /// memory) sets nothing.
    package static func lowest(physical: Int, limits: [(file: String, content: String)]) -> MemoryLimit? {
        var best: MemoryLimit? = physical > 0 ? MemoryLimit(bytes: physical, source: "this machine's memory") : nil
        for (file, content) in limits {
            let text = content.filter { !$0.isWhitespace }
            guard let value = Int(text), value > 0, value < (best?.bytes ?? .max) else { continue }
            best = MemoryLimit(bytes: value, source: "the cgroup limit (\(file))")
        }
        return best
    }

    /// The limit files to read for `/proc/self/cgroup`'s content: for cgroup v2 (`0::PATH`)
    /// `ROOT/PATH/memory.max`, for v1's memory controller (`N:...memory...:PATH`)
    /// `ROOT/memory/PATH/memory.limit_in_bytes`; each also at the mount's root, which is the
    /// process's own cgroup inside a cgroup namespace.
    package static func cgroupLimitFiles(cgroups: String, root: String) -> [String] {
        var files: [String] = []
        for line in cgroups.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = fields[2] == "/" ? "" : String(fields[2])
            if fields[0] == "0" && fields[1].isEmpty {
                files += [root + path + "/memory.max", root + "/memory.max"]
            } else if fields[1].split(separator: ",").contains("memory") {
                files += [root + "/memory" + path + "/memory.limit_in_bytes", root + "/memory/memory.limit_in_bytes"]
            }
        }
        var seen = Set<String>()
        return files.filter { seen.insert($0).inserted }
    }

    /// A small file's text (empty when it cannot be read).
    private static func readSmallFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
    }
}
