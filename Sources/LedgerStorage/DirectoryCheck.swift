/// Decides, from what a data directory holds, whether a start may go ahead: the one table
/// of rules behind both `kamino serve` (through `WALWriter.open`) and `kamino wal verify`,
/// so the two can never disagree.
///
/// The rules (each refusal names what is missing):
/// 1. A control file that exists but does not decode: refuse.
/// 2. A corrupt record followed by records written after it was durable: refuse (damage).
/// 3. A segment file missing between two others (names skip LSNs): refuse.
/// 4. The log starts after the first LSN the state needs (newest usable snapshot + 1):
///    refuse; the corrupt snapshots that would have covered the hole are named.
/// 5. Segments end before the newest usable snapshot: refuse.
/// 6. The state that would be rebuilt ends before the control file's durable LSN, or
///    before its newest snapshot: refuse.
/// 7. The directory holds snapshot files or a control file that promises state, and none
///    of it is usable: refuse (a directory with Kamino files never starts empty). Likewise
///    a log whose first record does not read (bytes that are not a record, not the zeros
///    of a segment never written) with no control file and no usable snapshot: without
///    the control file nothing says the log was empty, so the cut would start an empty
///    ledger from a directory that held one.
/// 8. A torn tail above the durable LSN is cut (a crash's normal trace); the newest
///    snapshot failing its checksum falls back to an older one; stale temporaries are
///    removed: all reported, none refused.
/// Other files are ignored: the epoch history (`kamino.epochs`) and snapshot downloads
/// (`incoming-*.snap.part`, kept and noted) included.
package enum DirectoryCheck {
    /// One snapshot file and whether it is usable.
    package struct SnapshotFile: Sendable, Equatable {
        package let lsn: UInt64
        package let path: String
        /// Why it cannot be used (nil: it verified, or was not read: see `verified`).
        package let problem: String?
        /// False for a snapshot older than the newest usable one that a start did not read
        /// (`Inventory.read(directory:allSnapshots: false)`): nothing is known against it.
        package var verified = true
    }

    /// Everything the rules look at, read without changing the directory.
    package struct Inventory: Sendable {
        package let directory: String
        /// nil when there is no control file.
        package let control: ControlFile?
        /// Why the control file could not be read, if it exists and is bad.
        package let controlProblem: String?
        /// The log as a read-only scan found it (cut not carried out).
        package let log: RecoveryReport
        /// Snapshot files, newest first.
        package let snapshots: [SnapshotFile]
        /// Leftover temporaries of interrupted snapshot, control or epoch history writes, and
        /// a next log segment prepared ahead (`SegmentPreparer`; zeros only, never a record).
        package let staleTemporaries: [String]
        /// Snapshot downloads in progress (`SnapshotDownload` part files): kept, resumable.
        package var snapshotDownloads: [String] = []

        /// The newest snapshot that verified.
        package var usableSnapshot: SnapshotFile? { snapshots.first { $0.problem == nil } }

        /// Reads the directory: control file, every segment checksum (read-only, damage
        /// reported rather than thrown) and every snapshot checksum, or with `allSnapshots`
        /// false (a start) those down to the newest usable one: a start uses that one, and
        /// reading the older ones (gigabytes each) would only slow it down.
        package static func read(directory: String, allSnapshots: Bool = true) throws(WALError) -> Inventory {
            var control: ControlFile?
            var controlProblem: String?
            do throws(WALError) {
                control = try ControlFile.load(directory: directory)
            } catch {
                controlProblem = error.message
            }
            let log = try WALRecovery.recover(directory: directory, mode: .readOnly, allowDamaged: true)
            let store = SnapshotStore(directory: directory)
            var snapshots: [SnapshotFile] = []
            for candidate in try store.list() {
                if !allSnapshots, snapshots.contains(where: { $0.problem == nil }) {
                    var file = SnapshotFile(lsn: candidate.lsn, path: candidate.path, problem: nil)
                    file.verified = false
                    snapshots.append(file)
                    continue
                }
                do throws(WALError) {
                    let info = try store.verify(path: candidate.path)
                    if info.lsn == candidate.lsn {
                        snapshots.append(SnapshotFile(lsn: candidate.lsn, path: candidate.path, problem: nil))
                    } else {
                        snapshots.append(SnapshotFile(lsn: candidate.lsn, path: candidate.path,
                                                      problem: "its header says LSN \(info.lsn), its name \(candidate.lsn)"))
                    }
                } catch {
                    snapshots.append(SnapshotFile(lsn: candidate.lsn, path: candidate.path, problem: error.message))
                }
            }
            let stale = try FileIO.list(directory).filter { name in
                (name.hasPrefix("snapshot-") && name.hasSuffix(".tmp")) || name == ControlFile.fileName + ".tmp"
                    || name == EpochHistoryFile.fileName + ".tmp" || name == SegmentPreparer.fileName
            }.sorted()
            var inventory = Inventory(directory: directory, control: control, controlProblem: controlProblem, log: log,
                                      snapshots: snapshots, staleTemporaries: stale)
            inventory.snapshotDownloads = try SnapshotDownload.partFiles(directory: directory).map(\.name)
            return inventory
        }
    }

    /// What a start would do with the directory.
    package struct Verdict: Sendable {
        /// Reasons the directory holds less than it must; a start refuses while any is here.
        package var refusals: [String] = []
        /// The refusals no override can get past: no state can be rebuilt at all (the log
        /// starts after what the state needs, or ends before the snapshot). Also in `refusals`.
        package var unrecoverable: [String] = []
        /// The torn tail a start cuts (not a refusal).
        package var cut: TailCut?
        /// Snapshots skipped because they failed their checks (fallback to an older one).
        package var skippedSnapshots: [SnapshotFile] = []
        /// The snapshot recovery starts from.
        package var snapshot: SnapshotFile?
        /// Temporaries a start removes.
        package var staleTemporaries: [String] = []
        /// The LSN the state covers after a start (snapshot + log).
        package var recoveredLSN: UInt64 = 0
        /// Facts worth a line in the log that change nothing (no control file yet, ...).
        package var notes: [String] = []

        /// True when a start would change the directory or refuse. A segment prepared ahead
        /// (zeros, never a record; left by any stop that was not clean) does not count: a
        /// start removes it, and nothing in it was ever data.
        package var changesOrRefuses: Bool {
            !refusals.isEmpty || cut != nil || staleTemporaries.contains { $0 != SegmentPreparer.fileName }
        }
    }

    /// Applies the rules to `inventory`.
    package static func evaluate(_ inventory: Inventory) -> Verdict {
        var verdict = Verdict()
        let log = inventory.log
        let usable = inventory.usableSnapshot
        verdict.snapshot = usable
        verdict.skippedSnapshots = Array(inventory.snapshots.prefix { $0.problem != nil })
        verdict.staleTemporaries = inventory.staleTemporaries
        let corruptNames = inventory.snapshots.filter { $0.problem != nil }
            .map { "\(fileName($0.path)) (\($0.problem ?? ""))" }
        let hasSegments = !log.segments.isEmpty
        let start = (usable?.lsn ?? 0) + 1

        // Rule 1.
        if let problem = inventory.controlProblem { verdict.refusals.append(problem) }
        // Rule 2.
        if let damage = log.damage {
            verdict.refusals.append("damaged log: \(damage.message) (file \(damage.file ?? "?"), offset \(damage.offset ?? 0))")
        }
        // Rule 3.
        if let cut = log.cut, cut.segmentGap {
            verdict.refusals.append(
                "log segment(s) missing: \(cut.reason); LSN \(cut.firstMissingLSN) on is absent, "
                    + "and \(cut.removedSegments.count) later segment file(s) would be dropped")
        }
        // Rule 4.
        if hasSegments && log.firstLSN > start {
            var text = "log segment(s) missing: the log starts at LSN \(log.firstLSN) (\(log.segments[0].name.fileName)) "
                + "but the state needs LSN \(start) on"
            text += usable.map { ", after snapshot \(fileName($0.path))" } ?? " (no usable snapshot)"
            if !corruptNames.isEmpty { text += "; unusable snapshots: " + corruptNames.joined(separator: ", ") }
            verdict.refusals.append(text)
            verdict.unrecoverable.append(text)
        }
        // Rule 5.
        if hasSegments, let usable, log.lastLSN < usable.lsn {
            let text = "log shorter than the snapshot: the log ends at LSN \(log.lastLSN) but snapshot \(fileName(usable.path)) "
                + "covers LSN \(usable.lsn); the segments after LSN \(log.lastLSN) are missing"
            verdict.refusals.append(text)
            verdict.unrecoverable.append(text)
        }
        let logEnd = log.lastLSN >= start ? log.lastLSN : start - 1
        verdict.recoveredLSN = logEnd
        // Rule 6.
        if let control = inventory.control {
            if control.durableLSN > logEnd {
                var text = "the directory rebuilds state up to LSN \(logEnd) but its control file records LSN "
                    + "\(control.durableLSN) as durable: LSN \(logEnd + 1)...\(control.durableLSN) missing"
                if let cut = log.cut, !cut.segmentGap {
                    text += " (a start would cut the log at \(cut.file) offset \(cut.offset): \(cut.reason))"
                } else if !hasSegments {
                    text += " (no log segment left)"
                } else if let last = log.segments.last {
                    text += " (the log ends in \(last.name.fileName); a later segment is missing or was emptied)"
                }
                if !corruptNames.isEmpty { text += "; unusable snapshots: " + corruptNames.joined(separator: ", ") }
                verdict.refusals.append(text)
            }
            if control.lastSegmentLSN > 0, (log.segments.last?.name.firstLSN ?? 0) < control.lastSegmentLSN,
               logEnd < control.lastSegmentLSN || !hasSegments {
                verdict.refusals.append(
                    "log segment missing: the control file records segment "
                        + "\(SegmentName(firstLSN: control.lastSegmentLSN).fileName) (LSN \(control.lastSegmentLSN) on) "
                        + "but the log ends in "
                        + (log.segments.last.map { "\($0.name.fileName) at LSN \(log.lastLSN)" } ?? "no segment"))
            }
            if control.snapshotLSN > 0, usable == nil, !(hasSegments && log.firstLSN == 1) {
                verdict.refusals.append(
                    "the control file records a snapshot at LSN \(control.snapshotLSN) but no snapshot is usable "
                        + "and the log does not start at LSN 1"
                        + (corruptNames.isEmpty ? " (no snapshot file left)" : "; unusable snapshots: " + corruptNames.joined(separator: ", ")))
            }
        }
        // Rule 7.
        if logEnd == 0 && usable == nil && !inventory.snapshots.isEmpty {
            verdict.refusals.append(
                "the directory holds snapshot files but none is usable and the log holds no record: "
                    + corruptNames.joined(separator: ", "))
        }
        if logEnd == 0 && usable == nil && inventory.control == nil && inventory.controlProblem == nil,
           let cut = log.cut, !cut.segmentGap, cut.firstMissingLSN == 1 {
            verdict.refusals.append(
                "the directory holds log segment \(cut.file) but not one readable record (\(cut.reason) at offset "
                    + "\(cut.offset)), no usable snapshot and no control file: a start would begin an empty ledger")
        }
        // Rule 8 (with a refusal above, the cut happens only when the operator overrides).
        verdict.cut = log.cut
        for name in inventory.snapshotDownloads {
            verdict.notes.append("snapshot download in progress: \(name) (kept; a follower resumes or discards it)")
        }
        if inventory.control == nil && inventory.controlProblem == nil && (hasSegments || !inventory.snapshots.isEmpty) {
            verdict.notes.append("no control file (a directory from an older version): one is written now")
        }
        return verdict
    }

    private static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
