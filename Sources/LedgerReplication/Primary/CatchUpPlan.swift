package import LedgerStorage

/// How a primary answers a follower's `hello`: a pure decision over the two logs' ends,
/// the two epoch histories and what the primary can still send (tested without sockets).
package enum CatchUpPlan: Sendable, Equatable {
    /// The follower's log is a prefix of the primary's: send records from `from`.
    case stream(from: UInt64)
    /// The follower holds records the primary does not (an old primary's unacknowledged
    /// tail, or a tail of an epoch that lost): it must cut its log after `lsn`.
    case truncate(after: UInt64)
    /// The primary no longer holds the log the follower needs: send the snapshot at `lsn`.
    case snapshot(lsn: UInt64)
    /// Nothing the primary holds can bring the follower up (no snapshot, log removed).
    case cannotServe(String)

    /// - Parameters:
    ///   - followerLast: the last LSN the follower's log (or snapshot) holds.
    ///   - oldestLogLSN: the first LSN the primary's segments still hold (nil: no segment;
    ///     then only records after `primaryLast` would be streamed, from memory).
    ///   - newestSnapshot: the primary's newest valid snapshot LSN (nil: none).
    package static func decide(
        followerHistory: EpochHistoryFile, followerLast: UInt64, primaryHistory: EpochHistoryFile,
        primaryLast: UInt64, oldestLogLSN: UInt64?, newestSnapshot: UInt64?
    ) -> CatchUpPlan {
        let common = EpochHistoryFile.commonPrefix(
            follower: followerHistory, followerLastLSN: followerLast, primary: primaryHistory, primaryLastLSN: primaryLast)
        if common < followerLast { return .truncate(after: common) }
        let next = followerLast + 1
        if next > primaryLast { return .stream(from: next) }
        if let oldest = oldestLogLSN, oldest <= next { return .stream(from: next) }
        if let snapshot = newestSnapshot, snapshot > followerLast, snapshot <= primaryLast {
            return .snapshot(lsn: snapshot)
        }
        return .cannotServe("the log from LSN \(next) is gone and no snapshot covers it")
    }
}
