#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerStorage

/// Reads the content of a snapshot file (after its 64-byte header) for `Ledger(snapshot:)`,
/// from a read-only mapping of the whole file: sections are handed out in place, so the
/// file is read once (no copy through a buffer). The caller verifies the file's checksums
/// first (`SnapshotStore.verify`); the file must not change while it is mapped (snapshot
/// files are written under a temporary name and never modified after the rename).
final class SnapshotFileReader: SnapshotReader {
    /// Why reading a snapshot file failed.
    struct Failure: Error, Sendable, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "snapshot \(path): \(reason)" }
    }

    private let path: String
    private let base: UnsafeMutableRawPointer?
    private let mappedBytes: Int
    private var offset: Int
    private let end: Int

    init(info: SnapshotInfo) throws(Failure) {
        path = info.path
        let fd = open(info.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: info.path, reason: "cannot open (errno \(errno))") }
        defer { _ = Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Failure(path: info.path, reason: "cannot stat (errno \(errno))") }
        let size = Int(status.st_size)
        offset = 64
        end = 64 + Int(info.contentLength)
        guard size >= end else { throw Failure(path: info.path, reason: "the file is shorter than its header says") }
        mappedBytes = size
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw Failure(path: info.path, reason: "cannot map (errno \(errno))")
        }
        base = p
    }

    deinit {
        if let base { munmap(base, mappedBytes) }
    }

    func read(into target: UnsafeMutableRawBufferPointer) throws {
        guard let view = try next(inPlace: target.count), let source = view.baseAddress else { return }
        target.baseAddress?.copyMemory(from: source, byteCount: target.count)
    }

    func next(inPlace count: Int) throws -> UnsafeRawBufferPointer? {
        precondition(count >= 0, "negative read")
        guard count <= end - offset else { throw Failure(path: path, reason: "content ends early") }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        defer { offset += count }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(base) + offset, count: count)
    }
}
