#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `LogTruncation.truncate` did.
package enum TruncationOutcome: Sendable, Equatable {
    /// The directory now holds exactly the records (and snapshots) up to the LSN asked for.
    /// `removedFiles` are file names; `removedRecords` counts the log records dropped.
    case truncated(removedRecords: UInt64, removedFiles: [String])
    /// No snapshot and log left could rebuild that LSN: the directory's ledger files were
    /// removed (lock file and snapshot downloads kept) and a snapshot must be installed.
    case needsSnapshot
}

/// Cuts a data directory's log after an LSN: an old primary rejoining a new one drops the
/// records the new primary never had (see `EpochHistoryFile.commonPrefix`).
///
/// Crash safety: the control file is lowered first (it then promises no more than what
/// will remain), then snapshots and segments above the LSN are removed newest first, then
/// the tail of the segment holding the LSN is zeroed, then the epoch history is cut. After
/// a kill -9 at any step `DirectoryCheck` accepts the directory (a start serves what is
/// left, untruncated records included) and calling `truncate` again finishes the job.
package enum LogTruncation {
    /// Makes `directory` hold exactly the records `<= lsn` and the snapshots `<= lsn`.
    /// Takes the directory's lock (`.locked` while a writer holds it). Throws the
    /// `DirectoryCheck` refusals (`.missingRecords`, `.damaged`, `.corrupt`) without
    /// changing anything when the directory is not fit to start. When `lsn` is at or after
    /// the end of the log only the epoch history is cut (no record removed).
    package static func truncate(directory: String, after lsn: UInt64) throws(WALError) -> TruncationOutcome {
        try truncate(directory: directory, after: lsn, afterStep: { _ in })
    }

    /// `truncate`, calling `afterStep` after each durable step (tests check every
    /// intermediate state with it, as a kill -9 there would leave it).
    static func truncate(directory: String, after lsn: UInt64, afterStep: (String) -> Void) throws(WALError) -> TruncationOutcome {
        try DataDirectoryLock.holding(directory: directory) { () throws(WALError) in
            try truncateLocked(directory: directory, after: lsn, afterStep: afterStep)
        }
    }

    private static func truncateLocked(directory: String, after lsn: UInt64, afterStep: (String) -> Void) throws(WALError) -> TruncationOutcome {
        let inventory = try DirectoryCheck.Inventory.read(directory: directory)
        let verdict = DirectoryCheck.evaluate(inventory)
        if !verdict.refusals.isEmpty {
            let code: WALError.Code = inventory.log.damage != nil ? .damaged
                : inventory.controlProblem != nil ? .corrupt : .missingRecords
            throw WALError(code, "refusing to truncate: the data directory holds less than it must: "
                + verdict.refusals.joined(separator: "; ") + " (nothing was changed)", file: directory)
        }
        let epochs = try EpochHistoryFile.read(directory: directory)
        let log = inventory.log
        let hasRecords = log.lastLSN >= log.firstLSN && !log.segments.isEmpty
        guard lsn < verdict.recoveredLSN else {
            try cutEpochs(epochs, after: lsn, directory: directory)
            return .truncated(removedRecords: 0, removedFiles: [])
        }
        // The newest valid snapshot that stays, and whether the log rebuilds lsn from it.
        let anchor = inventory.snapshots.first { $0.problem == nil && $0.lsn <= lsn }
        let needed = (anchor?.lsn ?? 0) + 1
        let rebuildable = anchor?.lsn == lsn || (hasRecords && log.firstLSN <= needed && log.lastLSN >= lsn)
        guard rebuildable else {
            _ = try DirectoryWipe.removeLedgerFiles(directory: directory, afterStep: afterStep)
            return .needsSnapshot
        }

        let segments = try SegmentName.list(in: directory)
        let holder = segments.last { $0.firstLSN <= lsn }
        // 1. The promises: never more than what remains.
        let old = inventory.control ?? ControlFile()
        let control = ControlFile(snapshotLSN: anchor?.lsn ?? 0, durableLSN: min(old.durableLSN, lsn), cleanShutdown: false,
                                  lastSegmentLSN: holder?.firstLSN ?? 0)
        try control.write(directory: directory)
        afterStep("control file written")
        var removed: [String] = []
        // 2. Snapshots above lsn, newest first (valid or not).
        for snapshot in inventory.snapshots where snapshot.lsn > lsn {
            try FileIO.unlink(snapshot.path)
            try FileIO.fsyncDirectory(directory)
            removed.append(SnapshotInfo.fileName(lsn: snapshot.lsn))
            afterStep("removed \(SnapshotInfo.fileName(lsn: snapshot.lsn))")
        }
        // 3. Segments starting above lsn, newest first: the log stays contiguous.
        for segment in segments.reversed() where segment.firstLSN > lsn {
            try FileIO.unlink(FileIO.join(directory, segment.fileName))
            try FileIO.fsyncDirectory(directory)
            removed.append(segment.fileName)
            afterStep("removed \(segment.fileName)")
        }
        // 4. The records after lsn in the segment holding it.
        if let holder, hasRecords, log.lastLSN > lsn {
            try zeroTail(directory: directory, segment: holder, after: lsn)
            afterStep("zeroed the tail of \(holder.fileName)")
        }
        // 5. The epochs of the records that are gone.
        try cutEpochs(epochs, after: lsn, directory: directory)
        return .truncated(removedRecords: hasRecords && log.lastLSN > lsn ? log.lastLSN - lsn : 0, removedFiles: removed)
    }

    private static func cutEpochs(_ epochs: EpochHistoryFile, after lsn: UInt64, directory: String) throws(WALError) {
        let cut = epochs.truncated(after: lsn)
        if cut != epochs { try cut.write(directory: directory) }
    }

    /// Zeroes `segment` from the end of record `lsn` on, keeping the file's size (the
    /// tail reads as zeros, as after preallocation), and syncs file and directory.
    private static func zeroTail(directory: String, segment: SegmentName, after lsn: UInt64) throws(WALError) {
        let path = FileIO.join(directory, segment.fileName)
        var end = 0
        var found = false
        do {
            let bytes = try MappedFile(path: path)
            bytes.withUnsafeBytes { buf in
                var expected = segment.firstLSN
                while expected <= lsn, case let .record(header) = WALRecovery.validate(buf, at: end, expected: expected) {
                    end += header.recordLength
                    expected += 1
                }
                found = expected == lsn + 1
            }
        }
        guard found else {
            throw WALError(.corrupt, "cannot find the end of LSN \(lsn) in \(segment.fileName)", file: path)
        }
        let fd = try FileIO.open(path, O_RDWR)
        defer { FileIO.close(fd) }
        let size = try FileIO.fileSize(fd, path: path)
        try FileIO.truncate(fd, to: end, path: path)
        if size > end { try FileIO.preallocate(fd, size: size, path: path) }
        try FileIO.fsync(fd, path: path)
        try FileIO.fsyncDirectory(directory)
    }
}
