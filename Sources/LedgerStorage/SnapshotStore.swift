#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Snapshot files in a data directory: write (temporary file, checksum,
/// fsync, rename, directory fsync), find the newest valid one, load it, and
/// remove what newer snapshots make obsolete. All calls block: run them on a
/// dedicated thread (see `DedicatedThread`), never on the cooperative pool.
package struct SnapshotStore: Sendable {
    /// The data directory (shared with the log segments).
    package let directory: String

    package init(directory: String) { self.directory = directory }

    /// Writes a snapshot of the state at `lsn`. `produce` streams the content
    /// into the sink. The file appears under its final name only once it is
    /// complete and durable. `lsn` must be durable in the log.
    @discardableResult
    package func write(lsn: UInt64, _ produce: (SnapshotSink) throws(WALError) -> Void) throws(WALError) -> SnapshotInfo {
        try FileIO.makeDirectory(directory)
        let finalName = SnapshotInfo.fileName(lsn: lsn)
        let tmpPath = FileIO.join(directory, finalName + ".tmp")
        let finalPath = FileIO.join(directory, finalName)
        let fd = try FileIO.open(tmpPath, O_WRONLY | O_CREAT | O_TRUNC)
        var closed = false
        defer { if !closed { FileIO.close(fd); try? FileIO.unlink(tmpPath) } }
        let sink = SnapshotSink(fd: fd, path: tmpPath)
        try produce(sink)
        try sink.flush()
        let header = SnapshotHeader(lsn: lsn, contentLength: sink.length, contentChecksum: sink.checksum)
        try withUnsafeTemporaryAllocation(byteCount: SnapshotHeader.size, alignment: 8) { h throws(WALError) in
            guard let base = h.baseAddress else { return }
            header.encode(to: base)
            try FileIO.pwrite(fd, UnsafeRawBufferPointer(h), offset: 0, path: tmpPath)
        }
        try FileIO.fsync(fd, path: tmpPath)
        FileIO.dropCachedPages(fd, offset: 0, length: 0)
        FileIO.close(fd)
        closed = true
        try FileIO.rename(tmpPath, finalPath)
        try FileIO.fsyncDirectory(directory)
        return SnapshotInfo(lsn: lsn, path: finalPath, contentLength: sink.length)
    }

    /// `write` with a `SnapshotSource`.
    @discardableResult
    package func write(lsn: UInt64, source: some SnapshotSource) throws(WALError) -> SnapshotInfo {
        try write(lsn: lsn) { sink throws(WALError) in try source.writeSnapshot(to: sink) }
    }

    /// LSNs and paths of the snapshot files present, newest first (unverified).
    package func list() throws(WALError) -> [(lsn: UInt64, path: String)] {
        try FileIO.list(directory)
            .compactMap { name in SnapshotInfo.lsn(fileName: name).map { (lsn: $0, path: FileIO.join(directory, name)) } }
            .sorted { $0.lsn > $1.lsn }
    }

    /// Reads and fully verifies one snapshot file (header and content checksum).
    package func verify(path: String) throws(WALError) -> SnapshotInfo {
        var info: SnapshotInfo?
        try load(path: path) { _ throws(WALError) in } header: { info = $0 }
        guard let info else { throw WALError(.snapshotInvalid, "snapshot has no header", file: path) }
        return info
    }

    /// Reads one snapshot file's header and checks it against the file's size, without
    /// reading the content (for a file whose content checksum was verified already, or to
    /// list files cheaply).
    package func header(path: String) throws(WALError) -> SnapshotInfo {
        let fd = try FileIO.open(path, O_RDONLY)
        defer { FileIO.close(fd) }
        let (header, _) = try Self.readHeader(fd, path: path)
        return SnapshotInfo(lsn: header.lsn, path: path, contentLength: header.contentLength)
    }

    /// The newest snapshot at or below LSN `atOrBelow` whose checksums are all correct
    /// (older or corrupt ones are skipped, newer ones are not read), or nil.
    package func newestValid(atOrBelow limit: UInt64 = .max, invalid: ((String, WALError) -> Void)? = nil) -> SnapshotInfo? {
        guard let all = try? list() else { return nil }
        for candidate in all where candidate.lsn <= limit {
            do throws(WALError) {
                return try verify(path: candidate.path)
            } catch {
                invalid?(candidate.path, error)
            }
        }
        return nil
    }

    /// Streams the content of a snapshot to `consume` in chunks, then checks
    /// the checksum: if it fails, `load` throws `.snapshotInvalid` and the
    /// caller must discard what it built (use `verify` first to avoid that).
    package func load(_ info: SnapshotInfo, _ consume: (UnsafeRawBufferPointer) throws(WALError) -> Void) throws(WALError) {
        try load(path: info.path, consume) { _ in }
    }

    /// The header of the open snapshot file `fd`, checked against the file's size.
    private static func readHeader(_ fd: Int32, path: String) throws(WALError) -> (SnapshotHeader, Int) {
        let size = try FileIO.fileSize(fd, path: path)
        var headerBytes = [UInt8](repeating: 0, count: SnapshotHeader.size)
        let n = try headerBytes.withMutableBytes { b throws(WALError) in try FileIO.pread(fd, b, offset: 0, path: path) }
        guard n == SnapshotHeader.size,
              let header = headerBytes.withUnsafeBytes({ b in b.baseAddress.flatMap { SnapshotHeader.decode($0) } })
        else { throw WALError(.snapshotInvalid, "bad snapshot header", file: path, offset: 0) }
        guard UInt64(size - SnapshotHeader.size) == header.contentLength else {
            throw WALError(.snapshotInvalid, "snapshot is \(size) bytes, header says \(header.contentLength) + 64", file: path)
        }
        return (header, size)
    }

    private func load(path: String, _ consume: (UnsafeRawBufferPointer) throws(WALError) -> Void,
                      header gotHeader: (SnapshotInfo) -> Void) throws(WALError) {
        let fd = try FileIO.open(path, O_RDONLY)
        defer { FileIO.close(fd) }
        let (header, size) = try Self.readHeader(fd, path: path)
        var crc: UInt32 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = SnapshotHeader.size
        while offset < size {
            let want = min(chunk.count, size - offset)
            try chunk.withMutableBytes { b throws(WALError) in
                let slice = UnsafeMutableRawBufferPointer(rebasing: b[0..<want])
                let got = try FileIO.pread(fd, slice, offset: offset, path: path)
                guard got == want else { throw WALError(.snapshotInvalid, "snapshot shorter than expected", file: path) }
                let view = UnsafeRawBufferPointer(slice)
                crc = CRC32C.checksum(view, continuing: crc)
                try consume(view)
            }
            offset += want
        }
        guard crc == header.contentChecksum else {
            throw WALError(.snapshotInvalid, "snapshot content checksum mismatch", file: path)
        }
        gotHeader(SnapshotInfo(lsn: header.lsn, path: path, contentLength: header.contentLength))
    }

    /// Keeps the newest `keep` snapshots whose headers are valid (default 2, so a corrupt
    /// newest one can fall back to the previous; only headers are read: the caller has
    /// just written and verified the newest, and re-reading gigabytes of older ones after
    /// every snapshot would compete with the log for the disk), deletes older snapshot files and
    /// leftover temporaries, and deletes log segments whose records are all
    /// covered by the oldest kept snapshot, except those holding `keepLogFrom` or later
    /// (records that replicas still need). Never deletes the last segment.
    /// Returns the names of the files removed.
    @discardableResult
    package func removeObsolete(keep: Int = 2, keepLogFrom: UInt64 = .max) throws(WALError) -> [String] {
        let names = try FileIO.list(directory)
        var removed: [String] = []
        for name in names where name.hasPrefix("snapshot-") && name.hasSuffix(".tmp") {
            try FileIO.unlink(FileIO.join(directory, name))
            removed.append(name)
        }
        var kept: [SnapshotInfo] = []
        for candidate in try list() {
            if kept.count < max(keep, 1), let info = try? header(path: candidate.path), info.lsn == candidate.lsn {
                kept.append(info)
            } else if kept.count >= max(keep, 1) {
                try FileIO.unlink(candidate.path)
                removed.append(candidate.path)
            }
        }
        if let oldest = kept.last {
            let segments = try SegmentName.list(in: directory)
            for (i, seg) in segments.enumerated() where i + 1 < segments.count {
                // Segment i holds LSNs [seg.firstLSN, next.firstLSN - 1].
                guard segments[i + 1].firstLSN <= oldest.lsn + 1, segments[i + 1].firstLSN <= keepLogFrom else { break }
                try FileIO.unlink(FileIO.join(directory, seg.fileName))
                removed.append(seg.fileName)
            }
        }
        if !removed.isEmpty { try FileIO.fsyncDirectory(directory) }
        return removed
    }
}
