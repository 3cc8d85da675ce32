import Foundation

/// What `kamino status` shows of a node (the `status` reply's JSON, snake_case keys), and
/// what the replication metrics read.
package struct NodeStatus: Codable, Sendable, Equatable {
    /// One follower as its primary sees it.
    package struct Follower: Codable, Sendable, Equatable {
        package var node: String
        /// Its client address (reads).
        package var address: String
        /// "catching_up", "snapshot" or "streaming".
        package var state: String
        package var durableLSN: UInt64
        package var appliedLSN: UInt64
        /// LSNs it is behind the primary's log.
        package var lagLSN: UInt64
        /// Seconds since it last held everything the primary had made durable (0: caught up).
        package var lagSeconds: Double
        /// Bytes and records sent to it on this connection (catch-up speed).
        package var sentBytes: UInt64
        package var sentRecords: UInt64
    }

    package var node: String
    /// "primary", "follower", "fenced" or "starting".
    package var role: String
    package var epoch: UInt64
    package var lastLSN: UInt64
    package var durableLSN: UInt64
    /// What clients were answered up to (sync mode: the quorum's LSN).
    package var commitLSN: UInt64
    /// The primary's client address (this node's own when primary; nil when unknown).
    package var primary: String?
    /// "async" or "sync(quorum N)".
    package var mode: String
    /// Sync mode: the followers confirming each batch now.
    package var syncSet: [String]
    /// On a primary: its followers.
    package var followers: [Follower]
    /// On a follower: how far behind its primary's log (LSNs) and since when (seconds).
    package var lagLSN: UInt64?
    package var lagSeconds: Double?
    /// On a follower: "connecting", "snapshot", "streaming" or "disconnected".
    package var link: String?
    /// Times this process became the primary.
    package var promotions: UInt64

    /// The JSON the `status` reply carries.
    package func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? Array("{}".utf8)
    }
}
