/// Removes a data directory's ledger files (control file, epoch history, snapshots,
/// segments, their temporaries) in an order that leaves, after a kill -9 at any step, a
/// directory `DirectoryCheck` accepts: an older state of the same history, then none.
/// Keeps the lock file and resumable snapshot downloads. The caller holds the lock.
enum DirectoryWipe {
    /// Removes the files; returns their names in the order removed. `afterStep` runs after
    /// each durable removal (tests check every intermediate state with it).
    static func removeLedgerFiles(directory: String, afterStep: (String) -> Void = { _ in }) throws(WALError) -> [String] {
        var removed: [String] = []
        func remove(_ name: String) throws(WALError) {
            try FileIO.unlink(FileIO.join(directory, name))
            try FileIO.fsyncDirectory(directory)
            removed.append(name)
            afterStep("removed \(name)")
        }
        let names = try FileIO.list(directory)
        // The promises go first: without a control file nothing below is a refusal.
        for name in [ControlFile.fileName, EpochHistoryFile.fileName, ControlFile.fileName + ".tmp", EpochHistoryFile.fileName + ".tmp"]
        where names.contains(name) {
            try remove(name)
        }
        for name in names.sorted()
        where (name.hasPrefix("snapshot-") && name.hasSuffix(".tmp")) || name == SegmentPreparer.fileName {
            try remove(name)
        }
        // Every snapshot but the newest valid one, which anchors the log while it shrinks.
        let store = SnapshotStore(directory: directory)
        let anchor = store.newestValid()
        for candidate in try store.list() where candidate.path != anchor?.path {
            try remove(SnapshotInfo.fileName(lsn: candidate.lsn))
        }
        // Segments covered by the anchor oldest first (the log still starts at or before
        // anchor + 1), then the rest newest first (the log still ends at or after it).
        var segments = try SegmentName.list(in: directory)
        if let anchor {
            while segments.count >= 2, segments[1].firstLSN <= anchor.lsn + 1 {
                try remove(segments.removeFirst().fileName)
            }
        }
        for segment in segments.reversed() { try remove(segment.fileName) }
        if let anchor { try remove(SnapshotInfo.fileName(lsn: anchor.lsn)) }
        return removed
    }
}
