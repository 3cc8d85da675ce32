#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A whole file mapped read-only, for recovery and the reader: no zero-filled copy of
/// segments that are tens of MiB. The file must not shrink while it is mapped (segments
/// are preallocated; recovery cuts a tail only after it has dropped its mapping).
final class MappedFile {
    private let base: UnsafeMutableRawPointer?
    let count: Int

    /// An empty mapping (no file).
    init() {
        base = nil
        count = 0
    }

    init(path: String) throws(WALError) {
        let fd = try FileIO.open(path, O_RDONLY)
        defer { FileIO.close(fd) }
        let size = try FileIO.fileSize(fd, path: path)
        count = size
        guard size > 0 else {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw WALError(.system, "mmap failed", errno: errno, file: path)
        }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) }, count: count))
    }
}
