#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Blocking POSIX file helpers. Call them from the writer thread, a dedicated
/// thread, or code that is allowed to block (recovery, tools, tests).
package enum FileIO {
    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    static func systemError(_ what: String, _ path: String, errno e: Int32 = errno) -> WALError {
        WALError(.system, what, errno: e, file: path)
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(WALError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw systemError("open failed", path) }
        }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// `mkdir -p`: creates `path` and its missing parents (mode 0755); the package's one.
    package static func makeDirectory(_ path: String) throws(WALError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw systemError("mkdir failed", prefix) }
            prefix += "/"
        }
    }

    static func fileSize(_ fd: Int32, path: String) throws(WALError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError("fstat failed", path) }
        return Int(st.st_size)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Reads exactly `count` bytes at `offset` (fewer only at end of file).
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int, path: String) throws(WALError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n > 0 { done += n; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw WALError(.system, "read failed", errno: errno, file: path, offset: UInt64(offset + done))
        }
        return done
    }

    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int, path: String) throws(WALError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = Glibc.pwrite(fd, base + done, buffer.count - done, off_t(offset + done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            let e = n < 0 ? errno : ENOSPC
            throw WALError.fromWrite(errno: e, file: path, offset: UInt64(offset + done), "write failed")
        }
    }

    /// Reads a whole file into memory.
    static func readAll(_ path: String) throws(WALError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let size = try fileSize(fd, path: path)
        var bytes = [UInt8](repeating: 0, count: size)
        var result: Result<Int, WALError> = .success(0)
        bytes.withUnsafeMutableBytes { buf in
            do throws(WALError) { result = .success(try pread(fd, buf, offset: 0, path: path)) } catch { result = .failure(error) }
        }
        let n = try result.get()
        if n < size { bytes.removeLast(size - n) }
        return bytes
    }

    /// Drops the page cache's clean pages of `length` bytes at `offset` (0: to the end of
    /// the file): written and synced bytes nothing reads soon. Best effort: dirty pages
    /// and a partial page at either end stay, and a failure changes nothing but speed.
    ///
    /// Why: on these VMs writing into pages the cache newly took costs 1-2 ns per byte in
    /// the kernel (fresh guest pages), several times the copy into pages it just freed,
    /// and a log or snapshot written once and read only at a restart would otherwise grow
    /// the cache by every byte logged.
    static func dropCachedPages(_ fd: Int32, offset: Int, length: Int) {
        precondition(offset >= 0 && length >= 0, "a negative file range")
        _ = posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_DONTNEED)
    }

    static func fsync(_ fd: Int32, path: String) throws(WALError) {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw WALError.fromWrite(errno: errno, file: path, offset: 0, "fsync failed") }
        }
    }

    /// Replaces `<directory>/<name>` with `bytes` atomically and durably: write a
    /// temporary, fsync it, rename it over the file, fsync the directory. A crash leaves
    /// the old file or the new one (and perhaps a stale `.tmp`, removed at start-up).
    static func replaceAtomically(directory: String, name: String, with bytes: [UInt8]) throws(WALError) {
        let path = join(directory, name)
        let temporary = path + ".tmp"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(WALError) {
            try bytes.withBytes { b throws(WALError) in try pwrite(fd, b, offset: 0, path: temporary) }
            try fsync(fd, path: temporary)
        } catch {
            close(fd)
            try? unlink(temporary)
            throw error
        }
        close(fd)
        try rename(temporary, path)
        try fsyncDirectory(directory)
    }

    static func fsyncDirectory(_ dir: String) throws(WALError) {
        let fd = try open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: dir)
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws(WALError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw systemError("ftruncate failed", path) }
    }

    static func preallocate(_ fd: Int32, size: Int, path: String) throws(WALError) {
        let r = posix_fallocate(fd, 0, off_t(size))
        if r != 0 { throw WALError.fromWrite(errno: r, file: path, offset: 0, "fallocate failed") }
    }

    static func unlink(_ path: String) throws(WALError) {
        guard Glibc.unlink(path) == 0 || errno == ENOENT else { throw systemError("unlink failed", path) }
    }

    static func rename(_ from: String, _ to: String) throws(WALError) {
        guard Glibc.rename(from, to) == 0 else { throw systemError("rename failed", from) }
    }

    /// Names of the entries of a directory (no "." or "..").
    static func list(_ dir: String) throws(WALError) -> [String] {
        guard let d = opendir(dir) else { throw systemError("opendir failed", dir) }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// True when every byte in `bytes[from...]` is zero.
    static func allZero(_ bytes: UnsafeRawBufferPointer, from: Int) -> Bool {
        var i = from
        let n = bytes.count
        while i < n && i & 7 != 0 { if bytes[i] != 0 { return false }; i += 1 }
        guard let base = bytes.baseAddress else { return true }
        while i + 8 <= n {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < n { if bytes[i] != 0 { return false }; i += 1 }
        return true
    }
}
