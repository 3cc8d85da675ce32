import LedgerEngine
import Logging

/// Logs a log failure episode, once per step: the failure (with the file, offset and
/// errno that clients never see), the rollback to the durable state, and the resumption.
func logLogCondition(_ condition: LogCondition, to logger: Logger) {
    switch condition {
    case .failed(let error, let durableLSN, let fenced):
        var metadata: Logger.Metadata = ["error": "\(error.code.rawValue)", "durable_lsn": "\(durableLSN)",
                                         "detail": "\(error.message)"]
        if let file = error.file { metadata["file"] = "\(StartupSummary.absolute(file))" }
        if let offset = error.offset { metadata["offset"] = "\(offset)" }
        if let errno = error.errno { metadata["errno"] = "\(errno)" }
        if fenced {
            logger.critical(
                "log write failed: this replicated node fenced itself; writes answer log_unavailable until it is restarted with space on its disk",
                metadata: metadata)
        } else {
            logger.error(
                "log write failed: writes answer log_unavailable until the log can be written again (probed with backoff); reads answer from the durable state",
                metadata: metadata)
        }
    case .rolledBack(let lsn, let seconds):
        logger.notice("state rolled back to the durable LSN after the log failure",
                      metadata: ["durable_lsn": "\(lsn)", "seconds": "\(seconds)"])
    case .rollbackFailed(let error):
        logger.critical("the state could not be rolled back after the log failure: writes stay refused until a restart",
                        metadata: ["error": "\(error.message)"])
    case .resumed(let durableLSN):
        logger.notice("log writable again: writes resume", metadata: ["durable_lsn": "\(durableLSN)"])
    }
}
