import LedgerEngine
import LedgerStorage
import Logging

/// Says out loud what opening the data directory found and did: the directory, a cut
/// tail, skipped snapshots, removed temporaries, refusals an operator overrode, and the
/// recovery itself (snapshot, LSN range replayed, records, time), and the capacity
/// `expected_transfers` reserved.
func logStartup(_ startup: StartupSummary, to logger: Logger) {
    let verdict = startup.verdict
    logger.info("data directory", metadata: ["data_dir": "\(startup.directory)"])
    for refusal in verdict.refusals {
        logger.critical("starting from less than the data directory promised (--accept-data-loss)",
                        metadata: ["data_dir": "\(startup.directory)", "problem": "\(refusal)"])
    }
    for note in verdict.notes {
        logger.notice("\(note)", metadata: ["data_dir": "\(startup.directory)"])
    }
    for skipped in verdict.skippedSnapshots {
        logger.warning("snapshot skipped, falling back to an older state",
                       metadata: ["file": "\(skipped.path)", "snapshot_lsn": "\(skipped.lsn)",
                                  "reason": "\(skipped.problem ?? "")"])
    }
    if let cut = verdict.cut {
        logger.warning("cut the log's torn tail",
                       metadata: ["file": "\(startup.directory)/\(cut.file)", "offset": "\(cut.offset)",
                                  "first_cut_lsn": "\(cut.firstMissingLSN)", "reason": "\(cut.reason)",
                                  "removed_segments": "\(cut.removedSegments.count)"])
    }
    if !verdict.staleTemporaries.isEmpty {
        logger.notice("removed stale temporary files of interrupted writes",
                      metadata: ["files": "\(verdict.staleTemporaries.joined(separator: ","))"])
    }
    logger.info("recovered", metadata: [
        "data_dir": "\(startup.directory)",
        "snapshot_lsn": "\(startup.snapshotLSN)",
        "snapshot": "\(verdict.snapshot?.path ?? "none")",
        "replayed_from_lsn": "\(startup.replayedFrom)",
        "replayed_through_lsn": "\(startup.replayedThrough)",
        "records": "\(startup.replayedRecords)",
        "events": "\(startup.replayedEvents)",
        "seconds": "\(Double(Int(startup.seconds * 1000)) / 1000)",
    ])
    if let capacity = startup.capacity {
        logger.info("reserved capacity", metadata: [
            "expected_transfers": "\(capacity.reservation.transfers)",
            "bytes": "\(capacity.reservation.bytes)",
            "mib": "\(capacity.reservation.bytes >> 20)",
            "threads": "\(capacity.threads)",
            "seconds": "\(Double(Int(capacity.seconds * 1000)) / 1000)",
        ])
    }
}
