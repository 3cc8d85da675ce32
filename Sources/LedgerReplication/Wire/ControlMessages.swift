import NIOCore

extension ReplicationMessage {
    /// `ack` (type 4), follower to primary: how far its log is durable and applied.
    package struct Ack: Sendable, Hashable {
        package var durableLSN: UInt64
        package var appliedLSN: UInt64

        package init(durableLSN: UInt64, appliedLSN: UInt64) {
            self.durableLSN = durableLSN
            self.appliedLSN = appliedLSN
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            durableLSN = try body.integer("durable_lsn")
            appliedLSN = try body.integer("applied_lsn")
            try body.finish()
        }

        func encode(into out: inout ByteBuffer) {
            out.writeLE(durableLSN)
            out.writeLE(appliedLSN)
        }
    }

    /// `heartbeat` (type 7), primary to follower: the primary's positions and wall clock.
    package struct Heartbeat: Sendable, Hashable {
        /// The last record appended.
        package var lastLSN: UInt64
        package var durableLSN: UInt64
        /// The highest LSN acknowledged to clients.
        package var commitLSN: UInt64
        /// The primary's wall clock in nanoseconds since the Unix epoch (for lag in seconds).
        package var primaryTimeNanoseconds: UInt64

        package init(lastLSN: UInt64, durableLSN: UInt64, commitLSN: UInt64, primaryTimeNanoseconds: UInt64) {
            self.lastLSN = lastLSN
            self.durableLSN = durableLSN
            self.commitLSN = commitLSN
            self.primaryTimeNanoseconds = primaryTimeNanoseconds
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            lastLSN = try body.integer("last_lsn")
            durableLSN = try body.integer("durable_lsn")
            commitLSN = try body.integer("commit_lsn")
            primaryTimeNanoseconds = try body.integer("primary_time_ns")
            try body.finish()
        }

        func encode(into out: inout ByteBuffer) {
            out.writeLE(lastLSN)
            out.writeLE(durableLSN)
            out.writeLE(commitLSN)
            out.writeLE(primaryTimeNanoseconds)
        }
    }

    /// `refuse` (type 8), either way: the sender refuses and closes the connection.
    package struct Refuse: Sendable, Hashable {
        /// Why the sender refuses.
        package enum Code: UInt16, Sendable, CaseIterable {
            /// The receiver's epoch is older than the sender's.
            case staleEpoch = 1
            /// The sender is not (or no longer) a primary; `primaryAddress` is the primary
            /// it knows of, or empty.
            case notPrimary = 2
            /// The logs diverged in a way the sender cannot repair.
            case diverged = 3
            /// The receiver broke the protocol (a frame out of order, a bad frame).
            case protocolError = 4
            /// The sender cannot serve the request, e.g. a snapshot it no longer has.
            case cannotServe = 5
            /// The primary checks tokens and the follower's `hello` had none, a refused
            /// one, or one without the `replicate` right.
            case unauthorized = 6
        }

        package var code: Code
        /// The primary's address as the sender knows it (HOST:PORT), or empty.
        package var primaryAddress: String
        /// A human-readable explanation.
        package var message: String

        /// `message` is cut (at a character boundary) to `ReplicationWireLimits.maxStringBytes`
        /// bytes of UTF-8, so that any explanation can be sent.
        package init(code: Code, primaryAddress: String = "", message: String) {
            self.code = code
            self.primaryAddress = primaryAddress
            var fitted = Substring(message)
            while fitted.utf8.count > ReplicationWireLimits.maxStringBytes { fitted.removeLast() }
            self.message = String(fitted)
        }

        init(decoding body: inout BodyReader) throws(ReplicationWireError) {
            let rawCode = try body.integer("code", as: UInt16.self)
            guard let code = Code(rawValue: rawCode) else { throw body.error("unknown code \(rawCode)") }
            self.code = code
            try body.zeros("reserved", count: 6)
            primaryAddress = try body.string("primary_address")
            message = try body.string("message")
            try body.finish()
        }

        func encode(into out: inout ByteBuffer) throws(ReplicationWireError) {
            out.writeLE(code.rawValue)
            out.writeRepeatingByte(0, count: 6)
            try out.writeReplicationString(primaryAddress, field: "primary_address")
            try out.writeReplicationString(message, field: "message")
        }
    }
}
