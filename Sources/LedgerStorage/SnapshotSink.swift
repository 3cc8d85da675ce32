#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CKaminoSys

/// Where a state serializer writes snapshot content: buffered, checksummed
/// and written to the temporary snapshot file.
///
/// The file goes to the disk in windows of `writebackWindow` bytes as it is written
/// (start the writeback of one window, wait for the one before), not all at the final
/// fsync: on ext4 a log fdatasync commits the journal, which waits for every dirty block
/// allocated in it, so a gigabyte of dirty snapshot pages would stall the log's fsyncs for
/// as long as it takes to write them. Waiting also paces the serializer to the disk. A
/// window written back leaves the page cache (`FileIO.dropCachedPages`).
package final class SnapshotSink {
    /// Bytes per writeback window. At most two windows are queued at the disk, ahead of
    /// the log's next write and fdatasync: 1 MiB windows keep that wait near a millisecond.
    /// Measured with batches of 8189 and snapshots of 0.3-2.2 GB (docs/benchmarks.md,
    /// session 9): log write + fdatasync above 10 ms in 0.5-0.9 % of group commits,
    /// against 3.7-13.5 % with 4 MiB windows; the snapshots took no longer.
    static let writebackWindow = 1 << 20
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private let bufferSize = 1 << 20
    private var fileOffset = SnapshotHeader.size
    /// Where the window whose writeback was started last begins (and the one before it).
    private var windowStart = 0
    private var previousWindowStart: Int?
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
            try writeBack()
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
        try writeBack()
    }

    /// Starts the writeback of the bytes written since the last window once they fill one,
    /// and waits for the window before it. Best effort where the call is not supported.
    private func writeBack() throws(WALError) {
        guard fileOffset - windowStart >= Self.writebackWindow else { return }
        if let previous = previousWindowStart {
            let r = kamino_write_back(fd, Int64(previous), Int64(windowStart - previous), 1)
            guard r == 0 || r == ENOSYS || r == EINVAL || r == ESPIPE else {
                throw WALError.fromWrite(errno: r, file: path, offset: UInt64(previous), "writeback of the snapshot failed")
            }
            // Written back: its pages leave the cache (the snapshot is read only at a
            // restart or by a follower), and the next windows reuse them.
            FileIO.dropCachedPages(fd, offset: previous, length: windowStart - previous)
        }
        _ = kamino_write_back(fd, Int64(windowStart), Int64(fileOffset - windowStart), 0)
        previousWindowStart = windowStart
        windowStart = fileOffset
    }
}

/// A state that can be written into a snapshot chunk by chunk.
package protocol SnapshotSource {
    /// Writes the whole state into `sink`.
    func writeSnapshot(to sink: SnapshotSink) throws(WALError)
}
