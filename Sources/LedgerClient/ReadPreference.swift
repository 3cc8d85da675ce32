/// Where ``KaminoClient`` sends lookups and queries.
public enum ReadPreference: Sendable, Hashable {
    /// Every request goes to the primary (reads see every write this client made).
    case primary
    /// Reads go to a follower (the first reachable address after the first one); a reply
    /// whose `state_lsn` is more than `maxLagLSN` batches behind the highest LSN this
    /// client has seen is discarded and the read resent to the primary, as is a read
    /// whose follower cannot be reached. `maxLagLSN` 0: read your own writes.
    case followers(maxLagLSN: UInt64)
}
