#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
@testable import LedgerStorage

/// Path of `kamino-walstress`, built next to the test bundle.
func walstressPath() -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let slash = exe.lastIndex(of: "/") else { return nil }
    let path = String(exe[..<slash]) + "/kamino-walstress"
    return access(path, X_OK) == 0 ? path : nil
}

/// Starts a process with stdout appended to `stdoutPath`; returns its pid.
func spawn(_ argv: [String], stdoutPath: String) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var pid = pid_t()
    let r = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
    return r == 0 ? pid : nil
}

/// Checks a walstress body: [seed u64][length u32][pad][splitmix64(seed) bytes].
func walstressBodyIsIntact(_ body: [UInt8], seed expectedSeed: UInt64? = nil, length expectedLength: Int? = nil) -> Bool {
    guard body.count >= 16 else { return false }
    let seed = body.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
    let length = body.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) }
    if let expectedSeed, seed != expectedSeed { return false }
    if let expectedLength, length != expectedLength { return false }
    guard body.count == 16 + length else { return false }
    var state = seed
    var i = 16
    while i < body.count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        for k in 0..<min(8, body.count - i) where body[i + k] != UInt8(truncatingIfNeeded: z >> (8 * UInt64(k))) {
            return false
        }
        i += 8
    }
    return true
}

@Suite struct CrashTests {
    /// kill -9 at random moments while 32 appenders append and acknowledge;
    /// after each kill: recover, every acknowledged LSN (from this and all
    /// earlier runs) is present and intact, and every record in the log is
    /// complete (no partial record applied).
    @Test func sigkillNeverLosesAcknowledgedBatches() throws {
        guard let exe = walstressPath() else {
            Issue.record("kamino-walstress not found next to the test bundle; build it first")
            return
        }
        let dir = TempDir("crash")
        defer { dir.remove() }
        let data = dir.path + "/data"
        let acksPath = dir.file("acks.txt")
        let kills = 24
        var acked: [UInt64: (seed: UInt64, length: Int)] = [:]
        var parsedBytes = 0
        var verifiedThrough: UInt64 = 0
        for run in 0..<kills {
            guard let pid = spawn([exe, "stress", data, "--appenders", "32", "--segment-size", "262144", "--seconds", "5"],
                                  stdoutPath: acksPath) else {
                Issue.record("spawn failed")
                return
            }
            // A random moment: during start-up and recovery, or while appending.
            usleep(UInt32.random(in: 50_000...500_000))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)

            let report = try WALRecovery.recover(directory: data, mode: .repair(preallocation: .fallocate, segmentSize: 262_144))
            #expect(report.damage == nil)
            // The reader verifies every header and body checksum.
            let records = try readAll(data)
            #expect(records.count == Int(report.lastLSN), "run \(run): LSNs must be contiguous from 1")
            for (i, r) in records.enumerated() where r.lsn != UInt64(i + 1) {
                Issue.record("run \(run): LSN \(r.lsn) at position \(i)")
                break
            }
            // Records new since the last run: the whole body must be the writer's.
            for r in records where r.lsn > verifiedThrough {
                #expect(walstressBodyIsIntact(r.body), "run \(run): LSN \(r.lsn) is not intact")
            }
            verifiedThrough = max(verifiedThrough, UInt64(records.count))

            // Acknowledged lines printed so far (a line cut by the kill is ignored).
            let acks = try readFile(acksPath)
            let complete = acks.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            for line in acks[parsedBytes..<max(parsedBytes, complete)].split(separator: UInt8(ascii: "\n")) {
                let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
                guard fields.count == 4, fields[0] == "ack", let lsn = UInt64(fields[1]), let seed = UInt64(fields[2]),
                      let length = Int(fields[3]) else { continue }
                acked[lsn] = (seed, length)
            }
            parsedBytes = max(parsedBytes, complete)
            var lost = 0
            for (lsn, ack) in acked {
                let index = Int(lsn) - 1
                if index >= records.count || !bodyHeaderMatches(records[index].body, seed: ack.seed, length: ack.length) {
                    lost += 1
                }
            }
            #expect(lost == 0, "run \(run): \(lost) acknowledged batches lost")
        }
        #expect(acked.count > 100, "the stress process acknowledged too little to mean anything")
        debugLine("crash test: \(kills) kills, \(acked.count) acknowledged batches checked, 0 lost")
    }
}

/// The seed and length a walstress body starts with match the acknowledgement.
func bodyHeaderMatches(_ body: [UInt8], seed: UInt64, length: Int) -> Bool {
    guard body.count == 16 + length else { return false }
    return body.withUnsafeBytes {
        UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) == seed
            && Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) == length
    }
}

func debugLine(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
