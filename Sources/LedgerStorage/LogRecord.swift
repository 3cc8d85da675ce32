/// One record read back from the log: its header fields and its body bytes.
package struct LogRecord: Sendable, Equatable {
    package var lsn: UInt64
    package var timestamp: UInt64
    package var operation: UInt8
    package var eventCount: UInt32
    /// The replication epoch the record was written in (0 before replication).
    package var epoch: UInt64
    /// The batch as it was appended (opaque to the storage layer).
    package var body: [UInt8]

    package init(lsn: UInt64, timestamp: UInt64, operation: UInt8, eventCount: UInt32, body: [UInt8], epoch: UInt64 = 0) {
        self.epoch = epoch
        self.lsn = lsn
        self.timestamp = timestamp
        self.operation = operation
        self.eventCount = eventCount
        self.body = body
    }
}
