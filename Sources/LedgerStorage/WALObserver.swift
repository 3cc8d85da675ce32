/// Told about every group commit of the log, for metrics. Called on the writer thread
/// right after a write + fdatasync chain completed: keep it cheap and never block.
package protocol WALObserver: Sendable {
    /// `records` records (`bytes` bytes) became durable in one write + fdatasync chain
    /// that took `seconds`.
    func groupCommitted(records: Int, bytes: Int, seconds: Double)
}

/// Receives the log's records as the writer thread submits them to the disk, so that a
/// replication primary can ship them while its own fsync runs. Called on the writer
/// thread, once per write, in LSN order, with the exact bytes written (headers, bodies,
/// padding). The bytes are valid only during the call: copy what you keep, and return
/// quickly (the log's write waits for the call).
package protocol WALShipper: Sendable {
    func ship(_ records: UnsafeRawBufferPointer, firstLSN: UInt64, lastLSN: UInt64, count: Int)
}
