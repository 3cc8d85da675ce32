import LedgerEngine
import LedgerServer
import Logging

/// Opens the data directory's ledger as `serve`'s settings say (layout, snapshots,
/// capacity), logs what recovery did and hooks it to the metrics.
enum LedgerOpening {
    static func open(
        _ settings: ServeSettings, role: NodeRole, acceptDataLoss: Bool, metrics: ServerMetrics, logger: Logger
    ) async throws(EngineError) -> DurableLedger {
        let onSnapshot: @Sendable (SnapshotScheduler.Outcome) -> Void = { outcome in
            metrics.snapshot(outcome)
            // Snapshots are an optimisation of recovery time; a failure is reported, not fatal.
            switch outcome {
            case .failed(let lsn, let error):
                logger.error("snapshot failed (the log still holds every batch)",
                             metadata: ["snapshot_lsn": "\(lsn)", "error": "\(error)"])
            case .written(let lsn, let removed, let seconds, let bytes):
                logger.info("snapshot written", metadata: [
                    "snapshot_lsn": "\(lsn)", "bytes": "\(bytes)", "seconds": "\(seconds)",
                    "removed_files": "\(removed)"])
            }
        }
        let ledger: DurableLedger
        if settings.shards > 1 {
            ledger = try await DurableLedger.openSharded(
                directory: settings.data, shards: settings.shards, allowDamaged: acceptDataLoss,
                prepareSegments: settings.prepareSegments, snapshotEvery: settings.snapshotEvery, snapshotLogBytes: settings.snapshotLogBytes, role: role,
                onSnapshot: onSnapshot)
        } else {
            ledger = try await DurableLedger.open(
                directory: settings.data, allowDamaged: acceptDataLoss, prepareSegments: settings.prepareSegments,
                snapshotEvery: settings.snapshotEvery,
                snapshotLogBytes: settings.snapshotLogBytes, expectedTransfers: settings.expectedTransfers, role: role,
                onSnapshot: onSnapshot)
        }
        ledger.onLogCondition { condition in
            metrics.logCondition(condition)
            logLogCondition(condition, to: logger)
        }
        logStartup(ledger.startup, to: logger)
        metrics.recovered(seconds: ledger.startup.seconds)
        let capacity = ledger.startup.capacity?.reservation
        metrics.reservedCapacity(transfers: capacity?.transfers ?? 0, bytes: capacity?.bytes ?? 0)
        metrics.observe(ledger)
        return ledger
    }
}
