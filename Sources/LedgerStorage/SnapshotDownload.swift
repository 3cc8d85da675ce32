#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A snapshot being received from the primary by a follower that is too far behind (or
/// whose log was cut below every snapshot): the bytes go to
/// `<dir>/incoming-<LSN, 20 digits>.snap.part` at the offsets given, so a broken
/// connection resumes where it stopped (`resumePoint`). `finish` makes the file durable
/// and verifies it whole (`SnapshotStore.verify`); `install` then replaces the directory's
/// state by it. Holds the directory's lock from `begin` to `finish`.
///
/// The part file is never read by a start: `DirectoryCheck` keeps it (it is not a stale
/// temporary) and `kamino wal verify` notes it.
package final class SnapshotDownload {
    /// LSN of the snapshot being received.
    package let lsn: UInt64
    /// Path of the part file.
    package let path: String
    private let directory: String
    private var descriptor: Int32
    private var lock: DataDirectoryLock?

    private init(directory: String, lsn: UInt64, path: String, descriptor: Int32, lock: consuming DataDirectoryLock) {
        self.directory = directory
        self.lsn = lsn
        self.path = path
        self.descriptor = descriptor
        self.lock = .some(lock)
    }

    deinit {
        if descriptor >= 0 { FileIO.close(descriptor) }
    }

    /// The part file's name for a snapshot at `lsn`.
    package static func partFileName(lsn: UInt64) -> String { "incoming-" + padded(lsn) + ".snap.part" }

    /// Parses a part file name to its LSN.
    static func lsn(partFileName name: String) -> UInt64? {
        guard name.hasPrefix("incoming-"), name.hasSuffix(".snap.part") else { return nil }
        let digits = name.dropFirst(9).dropLast(10)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    /// Part files present in `directory`, newest LSN first.
    static func partFiles(directory: String) throws(WALError) -> [(lsn: UInt64, name: String)] {
        try FileIO.list(directory).compactMap { name in lsn(partFileName: name).map { (lsn: $0, name: name) } }
            .sorted { $0.lsn > $1.lsn }
    }

    /// Where an interrupted download can go on: the newest part file's LSN and size (the
    /// offset to ask the primary for), or nil when there is none. Changes nothing.
    package static func resumePoint(directory: String) throws(WALError) -> (lsn: UInt64, offset: UInt64)? {
        guard let part = try partFiles(directory: directory).first else { return nil }
        let path = FileIO.join(directory, part.name)
        let fd = try FileIO.open(path, O_RDONLY)
        defer { FileIO.close(fd) }
        return (part.lsn, UInt64(try FileIO.fileSize(fd, path: path)))
    }

    /// Takes the directory's lock (`.locked` while a writer holds it), deletes part files
    /// of other LSNs, and opens the part file for `lsn`, keeping its first `offset` bytes
    /// (0: start over). `offset` past the part file's end is `.invalidArgument`.
    package static func begin(directory: String, lsn: UInt64, offset: UInt64 = 0) throws(WALError) -> SnapshotDownload {
        guard lsn >= 1 else { throw WALError(.invalidArgument, "a snapshot covers at least LSN 1") }
        let lock = try DataDirectoryLock.acquire(directory: directory)
        var removedAny = false
        for part in try partFiles(directory: directory) where part.lsn != lsn {
            try FileIO.unlink(FileIO.join(directory, part.name))
            removedAny = true
        }
        if removedAny { try FileIO.fsyncDirectory(directory) }
        let path = FileIO.join(directory, partFileName(lsn: lsn))
        let fd = try FileIO.open(path, O_RDWR | O_CREAT)
        do throws(WALError) {
            let size = try FileIO.fileSize(fd, path: path)
            guard offset <= UInt64(size) else {
                throw WALError(.invalidArgument, "cannot resume at offset \(offset): the part file holds \(size) bytes", file: path)
            }
            try FileIO.truncate(fd, to: Int(offset), path: path)
        } catch {
            FileIO.close(fd)
            throw error
        }
        return SnapshotDownload(directory: directory, lsn: lsn, path: path, descriptor: fd, lock: lock)
    }

    /// Writes received bytes at `offset` of the snapshot file.
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(WALError) {
        guard descriptor >= 0 else { throw WALError(.closed, "the download is finished", file: path) }
        guard offset <= UInt64(Int.max) - UInt64(bytes.count) else {
            throw WALError(.invalidArgument, "offset \(offset) out of range", file: path)
        }
        try FileIO.pwrite(descriptor, bytes, offset: Int(offset), path: path)
    }

    /// `write` for a byte array.
    package func write(_ bytes: [UInt8], at offset: UInt64) throws(WALError) {
        try bytes.withBytes { b throws(WALError) in try write(b, at: offset) }
    }

    /// Makes the part file durable, verifies it whole (header and content checksums, the
    /// LSN offered) and releases the lock. A file that fails is deleted and
    /// `.snapshotInvalid` thrown: the download starts over.
    @discardableResult
    package func finish() throws(WALError) -> SnapshotInfo {
        guard descriptor >= 0 else { throw WALError(.closed, "the download is finished", file: path) }
        defer { lock = nil }
        let fd = descriptor
        descriptor = -1
        do throws(WALError) {
            try FileIO.fsync(fd, path: path)
        } catch {
            FileIO.close(fd)
            throw error
        }
        FileIO.close(fd)
        try FileIO.fsyncDirectory(directory)
        return try Self.verifyPart(directory: directory, lsn: lsn)
    }

    /// Verifies the part file for `lsn`; deletes it when it is invalid.
    static func verifyPart(directory: String, lsn: UInt64) throws(WALError) -> SnapshotInfo {
        let path = FileIO.join(directory, partFileName(lsn: lsn))
        guard FileIO.exists(path) else {
            throw WALError(.snapshotInvalid, "no downloaded snapshot for LSN \(lsn)", file: path)
        }
        let problem: WALError
        do throws(WALError) {
            let info = try SnapshotStore(directory: directory).verify(path: path)
            if info.lsn == lsn { return info }
            problem = WALError(.snapshotInvalid, "the downloaded snapshot says LSN \(info.lsn), LSN \(lsn) was offered", file: path)
        } catch {
            guard error.code == .snapshotInvalid else { throw error }
            problem = error
        }
        try FileIO.unlink(path)
        try FileIO.fsyncDirectory(directory)
        throw WALError(.snapshotInvalid, "downloaded snapshot rejected and deleted: \(problem.message)", file: path)
    }

    /// Replaces the directory's state by the downloaded snapshot at `lsn` (after `finish`):
    /// takes the lock, verifies the part file again, removes every segment, snapshot and
    /// the control file (`DirectoryWipe`: after a kill -9 the directory holds an older
    /// state of the old history, or none), writes `epochs`, renames the part file to
    /// `snapshot-<lsn>.snap`, fsyncs the directory and writes the control file (snapshot
    /// and durable LSN `lsn`, no segment). Returns the names of the files removed.
    /// A writer opened afterwards starts with `lastAssignedLSN == lsn`.
    @discardableResult
    package static func install(directory: String, lsn: UInt64, epochs: EpochHistoryFile) throws(WALError) -> [String] {
        try install(directory: directory, lsn: lsn, epochs: epochs, afterStep: { _ in })
    }

    /// `install`, calling `afterStep` after each durable step (for the tests).
    static func install(directory: String, lsn: UInt64, epochs: EpochHistoryFile,
                        afterStep: (String) -> Void) throws(WALError) -> [String] {
        precondition(epochs.entries.allSatisfy { $0.firstLSN <= lsn }, "the epoch history of a snapshot ends at its LSN")
        return try DataDirectoryLock.holding(directory: directory) { () throws(WALError) in
            try installLocked(directory: directory, lsn: lsn, epochs: epochs, afterStep: afterStep)
        }
    }

    private static func installLocked(directory: String, lsn: UInt64, epochs: EpochHistoryFile,
                                      afterStep: (String) -> Void) throws(WALError) -> [String] {
        let finalPath = FileIO.join(directory, SnapshotInfo.fileName(lsn: lsn))
        if !FileIO.exists(FileIO.join(directory, partFileName(lsn: lsn))), FileIO.exists(finalPath),
           try SegmentName.list(in: directory).isEmpty, (try? SnapshotStore(directory: directory).verify(path: finalPath))?.lsn == lsn {
            // A kill -9 after the rename: only the epochs and the control file remain to write.
            try epochs.write(directory: directory)
            try ControlFile(snapshotLSN: lsn, durableLSN: lsn, cleanShutdown: false, lastSegmentLSN: 0).write(directory: directory)
            return []
        }
        let info = try verifyPart(directory: directory, lsn: lsn)
        let removed = try DirectoryWipe.removeLedgerFiles(directory: directory, afterStep: afterStep)
        // Only an empty directory (or an older state already gone) sees the new history.
        try epochs.write(directory: directory)
        afterStep("epoch history written")
        try FileIO.rename(info.path, finalPath)
        try FileIO.fsyncDirectory(directory)
        afterStep("snapshot renamed")
        try ControlFile(snapshotLSN: lsn, durableLSN: lsn, cleanShutdown: false, lastSegmentLSN: 0).write(directory: directory)
        return removed
    }
}
