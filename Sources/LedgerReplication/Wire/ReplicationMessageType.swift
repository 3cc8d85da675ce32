/// The `type` byte of a frame header.
package enum ReplicationMessageType: UInt8, Sendable, CaseIterable {
    /// Follower to primary, the first frame of a connection.
    case hello = 1
    /// Primary to follower, the answer to `hello`.
    case welcome = 2
    /// Primary to follower: consecutive log records.
    case records = 3
    /// Follower to primary: what it has made durable and applied.
    case ack = 4
    /// Primary to follower: a piece of a snapshot file.
    case snapshotChunk = 5
    /// Primary to follower: the snapshot is complete.
    case snapshotDone = 6
    /// Primary to follower: the primary's positions and clock.
    case heartbeat = 7
    /// Either way: the sender refuses the connection and closes it.
    case refuse = 8
}
