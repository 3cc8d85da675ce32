package import Glibc

/// Helpers for tests that run the real binaries: find them next to the test bundle,
/// start, wait for and inspect processes. Shared by the test targets.

/// Path of an executable built next to the test bundle (`kamino`, `kamino-ledgerstress`).
package func builtExecutable(_ name: String) -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let slash = exe.lastIndex(of: "/") else { return nil }
    let path = String(exe[..<slash]) + "/" + name
    return access(path, X_OK) == 0 ? path : nil
}

/// Starts `argv` with stdout and stderr appended to the given files; returns its pid.
package func spawnProcess(_ argv: [String], stdout: String, stderr: String) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var pid = pid_t()
    return posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 ? pid : nil
}

/// Runs `argv` to completion (output to `log`) and returns its exit status, or nil if it
/// could not start or did not exit normally.
package func runProcess(_ argv: [String], log: String) -> Int32? {
    guard let pid = spawnProcess(argv, stdout: log, stderr: log) else { return nil }
    var status: Int32 = 0
    guard waitpid(pid, &status, 0) == pid, status & 0x7F == 0 else { return nil }
    return (status >> 8) & 0xFF
}

/// The whole content of a file (empty if it cannot be read).
package func fileBytes(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// XORs one byte of a file with `mask`.
package func flipByte(_ path: String, at offset: Int, mask: UInt8 = 0xFF) -> Bool {
    let fd = open(path, O_RDWR)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var byte: UInt8 = 0
    guard pread(fd, &byte, 1, off_t(offset)) == 1 else { return false }
    byte ^= mask
    return pwrite(fd, &byte, 1, off_t(offset)) == 1 && fsync(fd) == 0
}

/// Writes a line to stderr (progress of long tests).
package func progressLine(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
