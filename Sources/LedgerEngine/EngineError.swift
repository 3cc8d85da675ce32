package import LedgerCore
package import LedgerStorage

/// Why the engine refused or could not finish a request. A refused batch changed
/// nothing; after `logFailed` or `diverged` the engine refuses every later write.
package struct EngineError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    package enum Code: UInt16, Sendable {
        /// The batch is malformed as a whole (too many events, store full); nothing changed.
        case batchRefused = 1
        /// The log stopped (disk full, I/O error); nothing after it is acknowledged.
        case logFailed = 2
        /// A logged batch did not apply: memory and log may differ; restart to recover.
        case diverged = 3
        /// Recovery at start-up failed.
        case recoveryFailed = 4
        /// The engine was closed.
        case closed = 5
        /// This node does not accept writes: it is a follower, or a primary that fenced
        /// itself (lost its lease, or learned of a higher epoch). Nothing changed;
        /// `primaryAddress` names the primary's client address when the node knows it.
        case notPrimary = 6
        /// Sync replication: the batch is durable here but the sync quorum did not confirm
        /// it within the configured time. Its outcome is unknown (it may survive a
        /// failover or not); resending it is safe (creates are idempotent by id).
        case replicationTimeout = 7
        /// `promote` was asked of a node that is not a follower (a standalone node or a
        /// primary); nothing changed.
        case notFollower = 8
        /// The log cannot be written (disk full, file size limit, I/O error): the batch
        /// is not applied (a batch already applied in memory is rolled back to the
        /// durable state), and writes are refused until the log writes again, which it
        /// does by itself once it can. On a replicated node, whose records may have
        /// reached followers, the node fences itself instead: the batch may have been
        /// applied by the next primary.
        case logUnavailable = 9
    }

    /// The error a lower layer threw, kept typed (nil when the engine itself refused).
    package enum Cause: Sendable {
        /// The write-ahead log or the snapshot store.
        case log(WALError)
        /// The state machine refused a batch as a whole.
        case ledger(LedgerError)
        /// Rebuilding the state from the data directory.
        case recovery(LedgerRecovery.Failure)
    }

    package let code: Code
    package let message: String
    package let cause: Cause?
    /// With `notPrimary`: the primary's client address (`HOST:PORT`), when known.
    package let primaryAddress: String?

    package init(_ code: Code, _ message: String, cause: Cause? = nil, primaryAddress: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.primaryAddress = primaryAddress
    }

    package var description: String { "EngineError(\(code)): \(message)" }

    /// `logUnavailable` for a log failure, in words a client may read: the reason
    /// (errno) without the file's path, which goes to the server's log instead.
    package static func logUnavailable(_ error: WALError) -> EngineError {
        let reason = error.errno.map { "\(describeErrno($0)) (errno \($0))" } ?? error.code.rawValue
        return EngineError(.logUnavailable, "the log cannot be written: \(reason); writes are refused until it can "
            + "(they resume by themselves), reads answer from the durable state", cause: .log(error))
    }
}
