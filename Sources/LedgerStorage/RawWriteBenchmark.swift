#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Baseline for the log benchmark: raw io_uring write+fdatasync chains of a
/// fixed commit size into a preallocated file, with the same ring code the
/// writer uses. Blocking; run it on a dedicated thread or in a tool.
package enum RawWriteBenchmark {
    /// Result of one run.
    package struct Result: Sendable {
        package let commits: Int
        package let bytes: Int
        package let seconds: Double
        package var megabytesPerSecond: Double { Double(bytes) / seconds / 1_000_000 }
        package var commitsPerSecond: Double { Double(commits) / seconds }
    }

    /// Writes `commitSize`-byte chunks sequentially, each followed by a linked
    /// fdatasync, for about `seconds`, into `path` (created and preallocated
    /// with fallocate to `fileSize` bytes like a log segment, so every write
    /// lands on fresh preallocated space; wraps around only when full).
    package static func run(path: String, commitSize: Int, seconds: Double, fileSize: Int = 4 << 30) throws(WALError) -> Result {
        let fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC)
        defer { FileIO.close(fd); try? FileIO.unlink(path) }
        try FileIO.preallocate(fd, size: fileSize, path: path)
        try FileIO.fsync(fd, path: path)
        let ring = try IOUring(entries: 8)
        var buffer = [UInt8](repeating: 0, count: commitSize)
        for i in buffer.indices { buffer[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        var offset = 0, commits = 0, bytes = 0
        let start = monotonicSeconds()
        var now = start
        while now - start < seconds {
            if offset + commitSize > fileSize { offset = 0 }
            let at = offset
            let results = try buffer.withBytes { b throws(WALError) in
                try ring.runChain([.write(fd: fd, buffer: b, offset: UInt64(at)), .fdatasync(fd: fd)])
            }
            if let bad = results.first(where: { $0 < 0 }) {
                throw WALError.fromWrite(errno: -bad, file: path, offset: UInt64(at), "raw write failed")
            }
            offset += commitSize
            bytes += commitSize
            commits += 1
            now = monotonicSeconds()
        }
        return Result(commits: commits, bytes: bytes, seconds: now - start)
    }
}

/// CLOCK_MONOTONIC in seconds.
package func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
