/// Why the server could not start or stop cleanly.
package struct ServerError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    package enum Code: UInt16, Sendable {
        /// The listening address could not be bound.
        case bindFailed = 1
        /// The address is not a valid `HOST:PORT`.
        case badAddress = 2
        /// In-flight requests were still running when the drain timeout expired.
        case drainTimedOut = 3
    }
    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "ServerError(\(code)): \(message)" }
}
