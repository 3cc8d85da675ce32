package import LedgerEngine
package import LedgerStorage
package import Logging

/// What the follower sessions of one primary term share: the ledger, the epoch and its
/// history, the records in memory, the sync quorum and the followers' progress.
package struct PrimaryContext: Sendable {
    package let ledger: DurableLedger
    package let directory: String
    package let nodeId: String
    /// This node's client address, sent in `welcome` (followers redirect writes to it).
    package let clientAddress: String
    /// The epoch this primary writes in.
    package let epoch: UInt64
    /// The epochs of this primary's log, its own term included.
    package let history: EpochHistoryFile
    package let tail: RecordTail
    /// Sync mode's gate (nil in async mode).
    package let quorum: SyncQuorum?
    package let registry: FollowerRegistry
    package let logger: Logger
    /// Told when a peer shows a higher epoch: this primary must stop accepting writes.
    package let onHigherEpoch: @Sendable (_ epoch: UInt64) -> Void
    /// The check of followers' tokens; nil: none is asked for.
    package var authentication: FollowerAuthentication?

    package init(ledger: DurableLedger, directory: String, nodeId: String, clientAddress: String, epoch: UInt64,
                 history: EpochHistoryFile, tail: RecordTail, quorum: SyncQuorum?, registry: FollowerRegistry,
                 logger: Logger, onHigherEpoch: @escaping @Sendable (UInt64) -> Void) {
        self.ledger = ledger
        self.directory = directory
        self.nodeId = nodeId
        self.clientAddress = clientAddress
        self.epoch = epoch
        self.history = history
        self.tail = tail
        self.quorum = quorum
        self.registry = registry
        self.logger = logger
        self.onHigherEpoch = onHigherEpoch
    }

    /// The LSN acknowledged to clients: the quorum's in sync mode, the durable LSN otherwise.
    package var commitLSN: UInt64 { quorum?.commitLSN ?? ledger.durableLSN }
}
