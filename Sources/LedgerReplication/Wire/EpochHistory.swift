/// The epochs a log went through: for each, the LSN of its first record. Entries are
/// strictly increasing in both epoch and first LSN, and there are at most
/// `ReplicationWireLimits.maxHistoryEntries` of them.
package struct EpochHistory: Sendable, Hashable {
    /// One epoch and the LSN of its first record.
    package struct Entry: Sendable, Hashable {
        package var epoch: UInt64
        package var firstLSN: UInt64

        package init(epoch: UInt64, firstLSN: UInt64) {
            self.epoch = epoch
            self.firstLSN = firstLSN
        }
    }

    /// Bytes of one entry on the wire: epoch u64, first_lsn u64.
    package static let entrySize = 16

    /// The entries, oldest first.
    package private(set) var entries: [Entry]

    /// An empty history (a node that never wrote a record in any epoch).
    package init() {
        entries = []
    }

    /// Checks the order and the size; throws `badBody` when either is wrong.
    package init(_ entries: [Entry]) throws(ReplicationWireError) {
        guard entries.count <= ReplicationWireLimits.maxHistoryEntries else {
            throw ReplicationWireError(
                .badBody, "\(entries.count) history entries; at most \(ReplicationWireLimits.maxHistoryEntries)")
        }
        for i in entries.indices.dropFirst() {
            let before = entries[i - 1], entry = entries[i]
            guard entry.epoch > before.epoch, entry.firstLSN > before.firstLSN else {
                throw ReplicationWireError(
                    .badBody,
                    "history entry \(i) (epoch \(entry.epoch), first_lsn \(entry.firstLSN)) does not follow "
                        + "(epoch \(before.epoch), first_lsn \(before.firstLSN)): both must increase strictly")
            }
        }
        self.entries = entries
    }

    /// The newest entry, if any.
    package var last: Entry? { entries.last }
}
