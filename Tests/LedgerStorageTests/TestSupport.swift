#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import LedgerStorage
import Synchronization

/// A fresh, empty directory under /tmp, removed by `remove()`.
struct TempDir {
    private static let counter = Atomic<Int>(0)
    let path: String

    init(_ label: String) {
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        path = "/tmp/kamino-wal-tests-\(getpid())-\(label)-\(n)"
        remove()
        mkdir(path, 0o755)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { _ = removeTree(path) }
}

@discardableResult
func removeTree(_ path: String) -> Int32 {
    if let names = try? FileIO.list(path) {
        for name in names {
            let child = path + "/" + name
            var st = stat()
            if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
        }
    }
    return rmdir(path)
}

/// Deterministic body bytes for a test record.
func testBody(_ seed: Int, length: Int) -> [UInt8] {
    var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<length).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

func readFile(_ path: String) throws -> [UInt8] { try FileIO.readAll(path) }

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC)
    defer { FileIO.close(fd) }
    try bytes.withBytes { b throws(WALError) in try FileIO.pwrite(fd, b, offset: 0, path: path) }
}

/// Copies every regular file of `from` into the empty directory `to`.
func copyDirectory(_ from: String, _ to: String) throws {
    for name in try FileIO.list(from) { try writeFile(to + "/" + name, readFile(from + "/" + name)) }
}

/// All records of a directory through the reader.
func readAll(_ dir: String, from: UInt64 = 1) throws -> [LogRecord] {
    var it = try WALReader(directory: dir).records(from: from)
    var out: [LogRecord] = []
    while let r = try it.next() { out.append(r) }
    return out
}

/// Start offsets (and lengths) of the records in a segment file, by walking headers.
func recordOffsets(_ bytes: [UInt8]) -> [(offset: Int, length: Int, lsn: UInt64)] {
    bytes.withUnsafeBytes { buf in
        var out: [(Int, Int, UInt64)] = []
        var off = 0
        while let base = buf.baseAddress, off + RecordHeader.size <= buf.count, let h = RecordHeader.decode(base + off) {
            out.append((off, h.recordLength, h.lsn))
            off += h.recordLength
        }
        return out
    }
}

/// Writes `count` records, each in its own group commit (sequential awaits).
func writeSequential(_ dir: String, count: Int, segmentSize: Int = 64 << 10, bodyLength: (Int) -> Int) async throws -> [[UInt8]] {
    let (w, _) = try WALWriter.open(WALConfiguration(directory: dir, segmentSize: segmentSize))
    var bodies: [[UInt8]] = []
    for i in 0..<count {
        let body = testBody(i, length: bodyLength(i))
        bodies.append(body)
        _ = try await w.appendDurably(operation: UInt8(i % 7), timestamp: UInt64(1000 + i), eventCount: UInt32(i), body: body)
    }
    await w.close()
    return bodies
}
