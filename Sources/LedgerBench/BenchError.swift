/// Why a benchmark run could not start, ran badly, or failed its checks.
package struct BenchError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    package enum Code: UInt16, Sendable {
        /// An option is out of range or inconsistent with another.
        case invalidOption = 1
        /// The server the bench starts itself did not come up or could not be stopped.
        case serverStart = 2
        /// Setting up the accounts failed.
        case setupFailed = 3
        /// A report file could not be written.
        case writeFailed = 4
        /// The money invariants could not be checked (lookups failed).
        case checkFailed = 5
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "BenchError(\(code)): \(message)" }
}
