import Synchronization

/// What a follower knows of its primary, for `status`, metrics and `not_primary` replies.
package final class FollowerProgress: Sendable {
    /// One reading.
    package struct Reading: Sendable, Equatable {
        /// "connecting", "snapshot", "streaming", "disconnected".
        package var state = "connecting"
        /// The primary's client address, from its `welcome`.
        package var primaryClientAddress: String?
        package var primaryNodeId: String?
        /// The primary's epoch, from its frames.
        package var primaryEpoch: UInt64 = 0
        /// The primary's last logged LSN and its commit LSN, from its last heartbeat.
        package var primaryLastLSN: UInt64 = 0
        package var primaryCommitLSN: UInt64 = 0
        /// When the follower last applied everything the primary had (monotonic seconds).
        package var caughtUpAt: Double = 0
        /// When a frame last came from the primary (monotonic seconds; 0: never).
        package var lastContact: Double = 0
        /// Snapshot bytes and records received (catch-up speed).
        package var receivedSnapshotBytes: UInt64 = 0
        package var receivedRecords: UInt64 = 0
    }

    private let reading = Mutex(Reading())

    package init() {}

    /// The current reading.
    package var current: Reading { reading.withLock { $0 } }

    /// Changes the reading.
    package func update(_ change: (inout Reading) -> Void) { reading.withLock { change(&$0) } }
}
