import Glibc
import KaminoTestSupport
import Testing

extension ClusterTests {
    /// A follower's applier runs at a lower priority (nice +5) so that, on a busy core, its
    /// log writer and receive path go first; the memory provisioner's thread runs at nice 10
    /// on purpose (`MemoryProvisioner.niceness`: its page faulting fills the others' waits).
    /// No other thread of the process, including the ones started while it applies (Swift's
    /// pool threads), runs below the process's normal priority: Linux gives a new thread its
    /// creator's nice value, so a thread started from the applier would silently inherit +5.
    @Test(.timeLimit(.minutes(2)))
    func onlyTheFollowersApplierRunsAtALowerPriority() async throws {
        let dir = try ClusterDirectory("priority")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let (primary, follower, _) = try startPrimaryWithFollower(in: dir, nodes: &nodes)
        let acks = AckLog()
        try await setUpBook(on: primary, acks: acks)
        let errors = try await timedLoad(primary.clientAddress, acks: acks, seconds: 2, seed: 5)
        #expect(errors.isEmpty, "client errors on the primary: \(errors.prefix(5))")
        try await syncPoint(primary: primary, followers: [follower], acks: acks, id: 1 << 51)

        errno = 0
        let base = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let threads = try ThreadTable.read(pid: try #require(follower.pid))
        let applier = threads.filter { $0.name == "kamino-applier" }
        #expect(applier.count == 1 && applier.allSatisfy { $0.nice == base + 5 }, "\(threads)")
        let memory = threads.filter { $0.name == "kamino-memory" }
        #expect(memory.count <= 1 && memory.allSatisfy { $0.nice == 10 }, "\(threads)")
        let preparer = threads.filter { $0.name == "kamino-segprep" }
        #expect(preparer.allSatisfy { $0.nice == 10 }, "\(threads)")
        // (libdispatch raises some of its own threads, nice below the base: not a concern.)
        let others = threads.filter {
            !["kamino-applier", "kamino-memory", "kamino-segprep"].contains($0.name) && $0.nice > base
        }
        #expect(others.isEmpty, "threads below normal priority (base \(base)): \(others)")
    }
}

/// The threads of a process, from /proc: name and nice value.
enum ThreadTable {
    struct Thread: CustomStringConvertible {
        var tid: Int
        var name: String
        var nice: Int32
        var description: String { "\(name)[\(tid)] nice \(nice)" }
    }

    static func read(pid: pid_t) throws -> [Thread] {
        let taskDir = "/proc/\(pid)/task"
        guard let dir = opendir(taskDir) else { throw ThreadTableError(message: "cannot open \(taskDir)") }
        defer { closedir(dir) }
        var threads: [Thread] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let tid = Int(name) else { continue }
            guard let stat = contents("\(taskDir)/\(name)/stat"), let close = stat.lastIndex(of: ")"),
                  let open = stat.firstIndex(of: "(")
            else { continue }  // the thread ended meanwhile
            // Fields after the name start with the 3rd (state); nice is the 19th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 16, let nice = Int32(fields[16]) else {
                throw ThreadTableError(message: "unexpected \(taskDir)/\(name)/stat: \(stat)")
            }
            threads.append(Thread(tid: tid, name: String(stat[stat.index(after: open)..<close]), nice: nice))
        }
        return threads
    }

    private static func contents(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct ThreadTableError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
