/// One frame of the node-to-node protocol: the sender's epoch and a message.
package struct ReplicationFrame: Sendable, Equatable {
    /// The sender's current epoch (header bytes 8..<16).
    package var epoch: UInt64
    package var message: ReplicationMessage

    package init(epoch: UInt64, message: ReplicationMessage) {
        self.epoch = epoch
        self.message = message
    }
}

/// A node-to-node message; one case per frame type (docs/replication.md).
package enum ReplicationMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    case records(Records)
    case ack(Ack)
    case snapshotChunk(SnapshotChunk)
    case snapshotDone(SnapshotDone)
    case heartbeat(Heartbeat)
    case refuse(Refuse)

    /// The frame type that carries this message.
    package var type: ReplicationMessageType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .records: .records
        case .ack: .ack
        case .snapshotChunk: .snapshotChunk
        case .snapshotDone: .snapshotDone
        case .heartbeat: .heartbeat
        case .refuse: .refuse
        }
    }
}
