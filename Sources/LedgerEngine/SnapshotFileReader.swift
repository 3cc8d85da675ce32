#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
import LedgerStorage

/// Reads the content of a snapshot file (after its 64-byte header) sequentially, for
/// `Ledger(snapshot:)`. The caller verifies the file's checksums first (`SnapshotStore.verify`).
struct SnapshotFileReader: SnapshotReader {
    /// Why reading a snapshot file failed.
    struct Failure: Error, Sendable, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "snapshot \(path): \(reason)" }
    }

    private let fd: Int32
    private let path: String
    private var offset: Int
    private let end: Int
    private var buffer: [UInt8]
    private var bufferStart = 0
    private var bufferEnd = 0

    init(info: SnapshotInfo) throws(Failure) {
        fd = open(info.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: info.path, reason: "cannot open (errno \(errno))") }
        path = info.path
        offset = 64
        end = 64 + Int(info.contentLength)
        buffer = [UInt8](repeating: 0, count: 4 << 20)
    }

    func close() { _ = Glibc.close(fd) }

    mutating func read(into target: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < target.count {
            if bufferStart == bufferEnd { try refill() }
            let n = min(target.count - filled, bufferEnd - bufferStart)
            buffer.withUnsafeBytes { source in
                (target.baseAddress! + filled).copyMemory(from: source.baseAddress! + bufferStart, byteCount: n)
            }
            bufferStart += n
            filled += n
        }
    }

    private mutating func refill() throws {
        let want = min(buffer.count, end - offset)
        guard want > 0 else { throw Failure(path: path, reason: "content ends early") }
        let fd = self.fd
        let at = offset
        let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
        guard got > 0 else { throw Failure(path: path, reason: "read failed at offset \(at) (errno \(errno))") }
        offset += got
        bufferStart = 0
        bufferEnd = got
    }
}
