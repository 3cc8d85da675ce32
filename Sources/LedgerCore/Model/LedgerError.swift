/// An error the ledger raises for a whole batch (as opposed to a per-event result code).
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: UInt16, Sendable {
        /// The batch timestamp does not leave a fresh, increasing timestamp for each event.
        case timestampNotIncreasing = 1
        /// The batch has more than `LedgerLimits.batchMax` events.
        case batchTooLarge = 2
        /// The store cannot hold more objects (2^31 - 1 transfers or accounts).
        case capacityExhausted = 3
        /// A snapshot could not be decoded.
        case snapshotInvalid = 4
    }
    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "LedgerError(\(code)): \(detail)" }
}
