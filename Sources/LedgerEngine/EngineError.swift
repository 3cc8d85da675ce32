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

    package init(_ code: Code, _ message: String, cause: Cause? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package var description: String { "EngineError(\(code)): \(message)" }
}
