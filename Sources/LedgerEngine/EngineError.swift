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
    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "EngineError(\(code)): \(message)" }
}
