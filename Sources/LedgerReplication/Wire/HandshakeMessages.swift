import NIOCore

extension ReplicationMessage {
    /// `hello` (type 1), follower to primary, the first frame of a connection: who the
    /// follower is and how far its log and snapshots go.
    package struct Hello: Sendable, Hashable {
        package var nodeId: String
        /// HOST:PORT the follower answers reads on; may be empty.
        package var clientAddress: String
        /// The last record in its log, or its snapshot's LSN when the log is empty.
        package var lastLSN: UInt64
        package var durableLSN: UInt64
        /// Its newest valid snapshot; 0 for none.
        package var snapshotLSN: UInt64
        /// A snapshot download to resume (its LSN and the bytes already held), else 0 and 0.
        package var partialSnapshotLSN: UInt64
        package var partialSnapshotOffset: UInt64
        /// The follower's epoch history.
        package var history: EpochHistory
        /// The follower's token (a JWT with the `replicate` right), empty for none. An
        /// optional trailing field: sent only when non-empty, so a hello without a token
        /// is byte for byte the original layout (docs/replication.md, `hello`).
        package var token: [UInt8]

        package init(
            nodeId: String, clientAddress: String, lastLSN: UInt64, durableLSN: UInt64, snapshotLSN: UInt64,
            partialSnapshotLSN: UInt64 = 0, partialSnapshotOffset: UInt64 = 0, history: EpochHistory,
            token: [UInt8] = []
        ) {
            self.token = token
            self.nodeId = nodeId
            self.clientAddress = clientAddress
            self.lastLSN = lastLSN
            self.durableLSN = durableLSN
            self.snapshotLSN = snapshotLSN
            self.partialSnapshotLSN = partialSnapshotLSN
            self.partialSnapshotOffset = partialSnapshotOffset
            self.history = history
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            nodeId = try body.string("node_id")
            clientAddress = try body.string("client_address")
            lastLSN = try body.integer("last_lsn")
            durableLSN = try body.integer("durable_lsn")
            snapshotLSN = try body.integer("snapshot_lsn")
            partialSnapshotLSN = try body.integer("partial_snapshot_lsn")
            partialSnapshotOffset = try body.integer("partial_snapshot_offset")
            guard partialSnapshotLSN != 0 || partialSnapshotOffset == 0 else {
                throw body.error("partial_snapshot_offset \(partialSnapshotOffset) without a partial_snapshot_lsn")
            }
            history = try body.history("history")
            if body.remaining > 0 {
                token = try body.bytes("token", limit: ReplicationWireLimits.maxTokenBytes)
                guard !token.isEmpty else { throw body.error("an empty token is sent as no token field") }
            } else {
                token = []
            }
            try body.finish()
        }

        func encode(into out: inout ByteBuffer) throws(ReplicationWireError) {
            guard token.count <= ReplicationWireLimits.maxTokenBytes else {
                throw ReplicationWireError(
                    .badBody, "hello: the token is \(token.count) bytes; at most \(ReplicationWireLimits.maxTokenBytes)")
            }
            guard partialSnapshotLSN != 0 || partialSnapshotOffset == 0 else {
                throw ReplicationWireError(
                    .badBody, "hello: partial_snapshot_offset \(partialSnapshotOffset) without a partial_snapshot_lsn")
            }
            try out.writeReplicationString(nodeId, field: "node_id")
            try out.writeReplicationString(clientAddress, field: "client_address")
            out.writeLE(lastLSN)
            out.writeLE(durableLSN)
            out.writeLE(snapshotLSN)
            out.writeLE(partialSnapshotLSN)
            out.writeLE(partialSnapshotOffset)
            out.writeReplicationHistory(history)
            if !token.isEmpty {
                out.writeLE(UInt32(token.count))
                out.writeBytes(token)
            }
        }
    }

    /// `welcome` (type 2), primary to follower, the answer to `hello`: what happens next.
    package struct Welcome: Sendable, Hashable {
        /// What the follower does after a `welcome`.
        package enum Action: UInt8, Sendable, CaseIterable {
            /// Records from `startLSN` follow.
            case stream = 0
            /// The follower cuts its log after `truncateTo` and reconnects.
            case truncate = 1
            /// Snapshot chunks follow, then `snapshot_done`; the follower installs the
            /// snapshot and reconnects.
            case snapshot = 2
        }

        /// The primary's node id.
        package var nodeId: String
        /// The primary's client address (HOST:PORT).
        package var clientAddress: String
        package var action: Action
        package var startLSN: UInt64
        package var truncateTo: UInt64
        package var snapshotLSN: UInt64
        package var snapshotSize: UInt64
        /// Where the snapshot chunks start (non-zero when a partial download is resumed).
        package var snapshotOffset: UInt64
        /// The primary's epoch history.
        package var history: EpochHistory

        package init(
            nodeId: String, clientAddress: String, action: Action, startLSN: UInt64 = 0, truncateTo: UInt64 = 0,
            snapshotLSN: UInt64 = 0, snapshotSize: UInt64 = 0, snapshotOffset: UInt64 = 0, history: EpochHistory
        ) {
            self.nodeId = nodeId
            self.clientAddress = clientAddress
            self.action = action
            self.startLSN = startLSN
            self.truncateTo = truncateTo
            self.snapshotLSN = snapshotLSN
            self.snapshotSize = snapshotSize
            self.snapshotOffset = snapshotOffset
            self.history = history
        }

        /// Stream: the LSN whose record the follower must hold for the stream to join its
        /// log (`start_lsn - 1`, sent in `truncate_to`); 0 when no check is asked.
        package var checkLSN: UInt64 { action == .stream ? truncateTo : 0 }
        /// Stream: the primary's `JoinCheck` fingerprint of its record at `checkLSN` (sent
        /// in `snapshot_lsn`).
        package var checkFingerprint: UInt64 { action == .stream ? snapshotLSN : 0 }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            nodeId = try body.string("node_id")
            clientAddress = try body.string("client_address")
            let rawAction = try body.integer("action", as: UInt8.self)
            guard let action = Action(rawValue: rawAction) else { throw body.error("unknown action \(rawAction)") }
            self.action = action
            try body.zeros("reserved", count: 7)
            startLSN = try body.integer("start_lsn")
            truncateTo = try body.integer("truncate_to")
            snapshotLSN = try body.integer("snapshot_lsn")
            snapshotSize = try body.integer("snapshot_size")
            snapshotOffset = try body.integer("snapshot_offset")
            guard snapshotOffset <= snapshotSize else {
                throw body.error("snapshot_offset \(snapshotOffset) is past snapshot_size \(snapshotSize)")
            }
            history = try body.history("history")
            try body.finish()
        }

        func encode(into out: inout ByteBuffer) throws(ReplicationWireError) {
            guard snapshotOffset <= snapshotSize else {
                throw ReplicationWireError(
                    .badBody, "welcome: snapshot_offset \(snapshotOffset) is past snapshot_size \(snapshotSize)")
            }
            try out.writeReplicationString(nodeId, field: "node_id")
            try out.writeReplicationString(clientAddress, field: "client_address")
            out.writeLE(action.rawValue)
            out.writeRepeatingByte(0, count: 7)
            out.writeLE(startLSN)
            out.writeLE(truncateTo)
            out.writeLE(snapshotLSN)
            out.writeLE(snapshotSize)
            out.writeLE(snapshotOffset)
            out.writeReplicationHistory(history)
        }
    }
}
