#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a state serializer writes snapshot content: buffered, checksummed
/// and written to the temporary snapshot file.
package final class SnapshotSink {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private let bufferSize = 1 << 20
    private var fileOffset = SnapshotHeader.size
    private(set) var checksum: UInt32 = 0
    /// Content bytes written so far.
    package private(set) var length: UInt64 = 0

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(bufferSize)
    }

    /// Appends content bytes.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(WALError) {
        checksum = CRC32C.checksum(bytes, continuing: checksum)
        length += UInt64(bytes.count)
        if buffer.count + bytes.count > bufferSize { try flush() }
        if bytes.count >= bufferSize {
            try FileIO.pwrite(fd, bytes, offset: fileOffset, path: path)
            fileOffset += bytes.count
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Appends content bytes from an array.
    package func write(_ bytes: [UInt8]) throws(WALError) {
        try bytes.withBytes { b throws(WALError) in try write(b) }
    }

    func flush() throws(WALError) {
        guard !buffer.isEmpty else { return }
        try buffer.withBytes { b throws(WALError) in try FileIO.pwrite(fd, b, offset: fileOffset, path: path) }
        fileOffset += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A state that can be written into a snapshot chunk by chunk.
package protocol SnapshotSource {
    /// Writes the whole state into `sink`.
    func writeSnapshot(to sink: SnapshotSink) throws(WALError)
}
