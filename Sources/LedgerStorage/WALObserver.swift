/// Told about every group commit of the log, for metrics. Called on the writer thread
/// right after a write + fdatasync chain completed: keep it cheap and never block.
package protocol WALObserver: Sendable {
    /// `records` records (`bytes` bytes) became durable in one write + fdatasync chain
    /// that took `seconds`.
    func groupCommitted(records: Int, bytes: Int, seconds: Double)
}
