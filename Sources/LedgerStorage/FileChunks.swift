#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a file in pieces at given offsets (a snapshot streamed to a replica).
package enum FileChunks {
    /// The file's size in bytes.
    package static func size(path: String) throws(WALError) -> UInt64 {
        let fd = try FileIO.open(path, O_RDONLY)
        defer { FileIO.close(fd) }
        return UInt64(try FileIO.fileSize(fd, path: path))
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file). Blocking.
    package static func read(path: String, offset: UInt64, count: Int) throws(WALError) -> [UInt8] {
        precondition(count >= 0, "a negative read")
        let fd = try FileIO.open(path, O_RDONLY)
        defer { FileIO.close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { b in
            Result { () throws(WALError) -> Int in try FileIO.pread(fd, b, offset: Int(offset), path: path) }
        }
        bytes.removeLast(count - (try got.get()))
        return bytes
    }
}
