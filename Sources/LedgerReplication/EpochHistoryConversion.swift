package import LedgerStorage

extension EpochHistoryFile {
    /// The history as it travels in `hello` and `welcome`: at most the newest
    /// `maxHistoryEntries` entries. Dropping older ones is conservative: a peer then sees
    /// epoch 0 for the oldest LSNs, so the two logs look different there and the follower
    /// is brought back from further behind (a snapshot), never from a wrong point.
    package var wire: EpochHistory {
        // Both types keep entries strictly increasing in epoch and first LSN.
        do {
            return try EpochHistory(entries.suffix(ReplicationWireLimits.maxHistoryEntries).map {
                EpochHistory.Entry(epoch: $0.epoch, firstLSN: $0.firstLSN)
            })
        } catch {
            preconditionFailure("a valid epoch history does not fit the wire: \(error)")
        }
    }

    /// A history received from a peer; nil when it is not in order (epochs and LSNs from 1).
    package init?(validating wire: EpochHistory) {
        var previous = (epoch: UInt64(0), lsn: UInt64(0))
        for entry in wire.entries {
            guard entry.epoch > previous.epoch, entry.firstLSN > previous.lsn else { return nil }
            previous = (entry.epoch, entry.firstLSN)
        }
        self.init(entries: wire.entries.map { Entry(epoch: $0.epoch, firstLSN: $0.firstLSN) })
    }
}
