import Synchronization

/// The followers connected to a primary and how far each is, for `status`, metrics and
/// log retention.
package final class FollowerRegistry: Sendable {
    /// One follower as the primary sees it.
    package struct Entry: Sendable, Equatable {
        package var nodeId: String
        /// Its client address (for reads), as it announced it.
        package var clientAddress: String
        /// The replication peer's address.
        package var peer: String
        /// "snapshot" while it downloads one, "catching_up" while behind memory, "streaming".
        package var state: String
        package var durableLSN: UInt64
        package var appliedLSN: UInt64
        /// When its durable LSN last reached the primary's (seconds, monotonic).
        package var caughtUpAt: Double
        /// Sent snapshot bytes and records (catch-up speed).
        package var sentBytes: UInt64 = 0
        package var sentRecords: UInt64 = 0
    }

    private let entries = Mutex<[String: Entry]>([:])

    package init() {}

    /// Registers a follower (replacing an older connection of the same node).
    package func register(_ entry: Entry) { entries.withLock { $0[entry.nodeId] = entry } }

    /// Updates a follower's entry, if registered.
    package func update(_ nodeId: String, _ change: (inout Entry) -> Void) {
        entries.withLock { all in
            guard var entry = all[nodeId] else { return }
            change(&entry)
            all[nodeId] = entry
        }
    }

    /// Forgets a follower whose connection ended.
    package func remove(_ nodeId: String) { _ = entries.withLock { $0.removeValue(forKey: nodeId) } }

    /// Every follower, sorted by node id.
    package var all: [Entry] { entries.withLock { Array($0.values) }.sorted { $0.nodeId < $1.nodeId } }

    /// The oldest LSN a connected follower still needs from the log (nil: none connected).
    package var oldestNeeded: UInt64? {
        entries.withLock { $0.values.map { $0.durableLSN + 1 }.min() }
    }
}
