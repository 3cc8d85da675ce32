package import LedgerEngine
package import LedgerStorage
package import Logging
package import KaminoTLS
package import NIOCore
import NIOPosix

/// A follower's connection to its primary: `hello`, then whatever the primary's
/// `welcome` says. In stream mode it logs and applies every record it receives (after
/// the frame decoder checked each record's checksums) and acknowledges its durable LSN;
/// it reconnects with backoff when the connection breaks. It returns when the directory
/// must change under a closed ledger (cut the log, install a snapshot) or when cancelled.
package struct FollowerLink: Sendable {
    /// Why `run` returned.
    package enum Outcome: Sendable {
        /// The primary holds less than this log: cut it after `lsn`, reopen, reconnect.
        case truncate(after: UInt64)
        /// The primary no longer holds the log this follower needs: fetch its snapshot
        /// (with the ledger closed: the download takes the directory's lock).
        case fetchSnapshot
        /// The task was cancelled (shutdown, promotion).
        case cancelled
        /// The primary is of an older epoch than this follower's: it must not be followed.
        case stalePrimary(String)
        /// This log's last record is not the primary's at that LSN (`JoinCheck`): the logs
        /// parted where the epoch histories cannot tell; an operator must wipe one.
        case diverged(String)
    }

    package let primaryHost: String
    package let primaryPort: Int
    package let nodeId: String
    /// This follower's client address, announced to the primary.
    package let clientAddress: String
    package let directory: String
    package let group: any EventLoopGroup
    package let logger: Logger
    package let progress: FollowerProgress
    /// Told the primary's commit LSN from each heartbeat (follower reads wait on it).
    package let commits: CommitWatch
    /// TLS to the primary's replication port (nil: plaintext); the primary's certificate
    /// must carry `primaryHost`.
    package var tls: TLSContext? = nil
    /// The token each `hello` carries (asked again on every connection); nil: none.
    package let token: (@Sendable () throws -> [UInt8])?

    package init(primaryHost: String, primaryPort: Int, nodeId: String, clientAddress: String, directory: String,
                 group: any EventLoopGroup, logger: Logger, progress: FollowerProgress, commits: CommitWatch,
                 token: (@Sendable () throws -> [UInt8])? = nil) {
        self.commits = commits
        self.token = token
        self.primaryHost = primaryHost
        self.primaryPort = primaryPort
        self.nodeId = nodeId
        self.clientAddress = clientAddress
        self.directory = directory
        self.group = group
        self.logger = logger
        self.progress = progress
    }

    /// Follows the primary with `ledger` (open, role follower) until the directory must
    /// change or the task is cancelled.
    package func run(ledger: DurableLedger) async -> Outcome {
        var backoff: Duration = .milliseconds(50)
        while !Task.isCancelled {
            do {
                let channel = try await connect()
                if let outcome = try await session(channel, ledger: ledger) { return outcome }
                backoff = .milliseconds(50)
            } catch {
                if Task.isCancelled { break }
                progress.update { $0.state = "disconnected" }
                logger.debug("replication: link to the primary broke", metadata: [
                    "primary": "\(primaryHost):\(primaryPort)", "error": "\(error)",
                ])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
        return .cancelled
    }

    /// Opens a connection to the primary's replication port (an IP literal directly, a
    /// name through the resolver).
    package func connect() async throws -> NIOAsyncChannel<ReplicationFrame, ReplicationFrame> {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        let tls = self.tls
        let host = primaryHost
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ReplicationFrame, ReplicationFrame>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls { try channel.pipeline.syncOperations.addHandler(try tls.makeHandler(serverName: host)) }
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ReplicationFrameDecoder()))
                try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(ReplicationFrameEncoder()))
                return try NIOAsyncChannel<ReplicationFrame, ReplicationFrame>(wrappingChannelSynchronously: channel)
            }
        }
        if let address = try? SocketAddress(ipAddress: primaryHost, port: primaryPort) {
            return try await bootstrap.connect(to: address, channelInitializer: initializer)
        }
        return try await bootstrap.connect(host: primaryHost, port: primaryPort, channelInitializer: initializer)
    }

    /// The `hello` this follower sends: how far its log and snapshots go, and its history.
    package static func hello(
        nodeId: String, clientAddress: String, directory: String, lastLSN: UInt64, durableLSN: UInt64,
        token: [UInt8] = []
    ) async throws -> (ReplicationFrame, EpochHistoryFile) {
        let found = try await DedicatedThread.run { () throws(WALError) -> DirectoryFacts in
            DirectoryFacts(history: try EpochHistoryFile.read(directory: directory),
                           snapshotLSN: SnapshotStore(directory: directory).newestValid()?.lsn ?? 0,
                           partial: try SnapshotDownload.resumePoint(directory: directory))
        }
        let hello = ReplicationMessage.Hello(
            nodeId: nodeId, clientAddress: clientAddress, lastLSN: lastLSN, durableLSN: durableLSN,
            snapshotLSN: found.snapshotLSN, partialSnapshotLSN: found.partial?.lsn ?? 0,
            partialSnapshotOffset: found.partial?.offset ?? 0, history: found.history.wire, token: token)
        return (ReplicationFrame(epoch: found.history.current, message: .hello(hello)), found.history)
    }

    /// The token for the next `hello` (read again now), empty for none. A token that
    /// cannot be read (a missing file) is logged as an error, not only as a broken link.
    func presentedToken() throws -> [UInt8] {
        do {
            return try token?() ?? []
        } catch {
            logger.error("replication: cannot read this follower's token", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// One connection: hello, welcome, then records until it breaks. Returns an outcome
    /// when the node must act on the directory, nil to reconnect.
    private func session(_ channel: NIOAsyncChannel<ReplicationFrame, ReplicationFrame>,
                         ledger: DurableLedger) async throws -> Outcome? {
        try await channel.executeThenClose { inbound, outbound in
            let (hello, history) = try await Self.hello(
                nodeId: nodeId, clientAddress: clientAddress, directory: directory, lastLSN: ledger.loggedLSN,
                durableLSN: ledger.durableLSN, token: try presentedToken())
            try await outbound.write(hello)
            var frames = inbound.makeAsyncIterator()
            guard let answer = try await frames.next() else {
                throw ReplicationFailure(.disconnected, "the primary closed the connection before its welcome")
            }
            progress.update { $0.lastContact = monotonicNow() }
            let welcome: ReplicationMessage.Welcome
            switch answer.message {
            case .welcome(let w): welcome = w
            case .refuse(let refusal):
                if !refusal.primaryAddress.isEmpty {
                    progress.update { $0.primaryClientAddress = refusal.primaryAddress }
                }
                if refusal.code == .unauthorized {
                    // Not a network blip: say so at every attempt (the token file may be fixed meanwhile).
                    logger.error("replication: the primary refused this follower's token", metadata: [
                        "primary": "\(primaryHost):\(primaryPort)", "reason": "\(refusal.message)",
                    ])
                }
                throw ReplicationFailure(.refused, "the primary refused: \(refusal.code) \(refusal.message)")
            default:
                throw ReplicationFailure(.protocolError, "expected welcome, got \(answer.message.type)")
            }
            guard answer.epoch >= history.current else {
                try await outbound.write(ReplicationFrame(epoch: history.current, message: .refuse(.init(
                    code: .staleEpoch, message: "this follower is at epoch \(history.current), the primary at \(answer.epoch)"))))
                return .stalePrimary("\(primaryHost):\(primaryPort) is at epoch \(answer.epoch), below this node's \(history.current)")
            }
            progress.update { p in
                p.primaryClientAddress = welcome.clientAddress.isEmpty ? nil : welcome.clientAddress
                p.primaryNodeId = welcome.nodeId
                p.primaryEpoch = answer.epoch
            }
            ledger.setRole(.follower(primary: welcome.clientAddress.isEmpty ? nil : welcome.clientAddress))
            switch welcome.action {
            case .truncate:
                logger.notice("replication: the primary holds less than this log: cutting it", metadata: [
                    "after_lsn": "\(welcome.truncateTo)", "log_ends_at": "\(ledger.loggedLSN)",
                ])
                return .truncate(after: welcome.truncateTo)
            case .snapshot:
                return .fetchSnapshot
            case .stream:
                guard welcome.startLSN == ledger.loggedLSN + 1 else {
                    throw ReplicationFailure(.protocolError, "the primary streams from \(welcome.startLSN), the log ends at \(ledger.loggedLSN)")
                }
                if let why = try await joinMismatch(welcome, ledger: ledger) {
                    progress.update { $0.state = "diverged" }
                    try? await outbound.write(ReplicationFrame(epoch: history.current, message: .refuse(.init(
                        code: .diverged, message: why))))
                    return .diverged(why)
                }
                // The primary's history describes this log's prefix; keep it before any
                // record of a newer epoch is logged here.
                guard let adopted = EpochHistoryFile(validating: welcome.history) else {
                    throw ReplicationFailure(.protocolError, "the primary's epoch history is not in order")
                }
                if adopted != history {
                    let directory = self.directory
                    try await DedicatedThread.run { () throws(WALError) in try adopted.write(directory: directory) }
                }
                try await stream(ledger: ledger, epoch: answer.epoch, frames: &frames, outbound)
                return nil
            }
        }
    }

    /// Why this log's record at the welcome's check LSN is not the primary's, or nil when
    /// it is (or no check was asked: an older primary, or the record is not in this log).
    private func joinMismatch(_ welcome: ReplicationMessage.Welcome, ledger: DurableLedger) async throws -> String? {
        let lsn = welcome.checkLSN
        guard lsn != 0 else { return nil }
        guard lsn == ledger.loggedLSN else {
            throw ReplicationFailure(.protocolError, "the primary checks LSN \(lsn), this log ends at \(ledger.loggedLSN)")
        }
        guard lsn <= ledger.durableLSN else {
            // Records of the last connection still being written: check once they are durable.
            throw ReplicationFailure(.disconnected, "LSN \(lsn) is not durable here yet; reconnecting to check it")
        }
        let directory = self.directory
        let own = try await DedicatedThread.run { () throws(WALError) in JoinCheck.fingerprint(directory: directory, lsn: lsn) }
        guard let own, own != welcome.checkFingerprint else { return nil }
        return "this log's record at LSN \(lsn) is not the primary's (fingerprint \(String(own, radix: 16)), the primary's "
            + "\(String(welcome.checkFingerprint, radix: 16))) though the epoch histories agree: two primaries wrote "
            + "in the same epoch (manual promotions that did not see each other) or the directory is another "
            + "cluster's; this follower streams nothing until its directory is wiped"
    }

    /// Logs records as they come and acknowledges them once durable; the ledger applies
    /// them in LSN order on its own thread (a record that does not apply ends the stream).
    private func stream(ledger: DurableLedger, epoch: UInt64,
                        frames: inout NIOAsyncChannelInboundStream<ReplicationFrame>.AsyncIterator,
                        _ outbound: NIOAsyncChannelOutboundWriter<ReplicationFrame>) async throws {
        progress.update { $0.state = "streaming" }
        let (applied, feed) = AsyncStream<ShippedBatch>.makeStream()
        let (durable, durableFeed) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let progress = self.progress
        let commits = self.commits
        // Acks follow the log's durability, not the apply: a record is acknowledged as soon
        // as it is on this node's disk (applying it is deterministic from there), so the
        // follower's apply is off the primary's answer path.
        ledger.onDurable { durableFeed.yield($0) }
        defer { ledger.onDurable(nil) }
        // The first ack says what this log holds durable now: the primary counts a follower
        // toward its quorum from acks only, once the follower accepted the welcome.
        durableFeed.yield(ledger.durableLSN)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { outbound.finish() }
                for await lsn in durable {
                    try await outbound.write(ReplicationFrame(epoch: epoch, message: .ack(.init(
                        durableLSN: lsn, appliedLSN: ledger.appliedLSN))))
                }
            }
            group.addTask {
                // Surfaces a record that was logged but did not apply (the ledger latches it).
                for await item in applied {
                    try await ledger.settleShipped(item.batch, item.applying)
                }
            }
            defer {
                feed.finish()
                durableFeed.finish()
                group.cancelAll()
            }
            while let next = try await frames.next() {
                let now = monotonicNow()
                progress.update { $0.lastContact = now }
                guard next.epoch == epoch else {
                    throw ReplicationFailure(.refused, "the primary's epoch changed from \(epoch) to \(next.epoch) on one connection")
                }
                switch next.message {
                case .records(let records):
                    for (header, body) in records {
                        guard header.epoch <= epoch else {
                            throw ReplicationFailure(.protocolError, "LSN \(header.lsn) is of epoch \(header.epoch), above the primary's \(epoch)")
                        }
                        // The apply runs on the ledger's applier thread; this path only
                        // logs, so it never waits behind an apply unless a window's worth
                        // of batches is queued there.
                        await ledger.waitForShippedRoom()
                        // The body is logged from the received frame with the checksum the
                        // frame decoder verified (`Records` checks every record's body).
                        let (batch, applying) = try body.withUnsafeReadableBytes { bytes in
                            Result { () throws(EngineError) in
                                try ledger.appendShipped(
                                    lsn: header.lsn, epoch: header.epoch, timestamp: header.timestamp,
                                    operation: header.operation, eventCount: header.eventCount,
                                    body: bytes, bodyChecksum: header.bodyChecksum)
                            }
                        }.get()
                        feed.yield(ShippedBatch(batch: batch, applying: applying))
                    }
                    progress.update { p in
                        p.receivedRecords += UInt64(records.count)
                        if records.lastLSN >= p.primaryLastLSN { p.caughtUpAt = now }
                    }
                case .heartbeat(let beat):
                    commits.advance(to: beat.commitLSN)
                    let loggedHere = ledger.loggedLSN
                    progress.update { p in
                        p.primaryLastLSN = beat.lastLSN
                        p.primaryCommitLSN = beat.commitLSN
                        if loggedHere >= beat.lastLSN { p.caughtUpAt = now }
                    }
                case .refuse(let refusal):
                    if !refusal.primaryAddress.isEmpty {
                        progress.update { $0.primaryClientAddress = refusal.primaryAddress }
                    }
                    throw ReplicationFailure(.refused, "the primary stopped: \(refusal.code) \(refusal.message)")
                default:
                    throw ReplicationFailure(.protocolError, "unexpected \(next.message.type) while streaming")
                }
            }
            throw ReplicationFailure(.disconnected, "the primary closed the connection")
        }
    }
}

/// A shipped batch on its way to its ack.
private struct ShippedBatch: Sendable {
    let batch: LoggedBatch
    let applying: Applying
}

/// What a follower's directory holds, for its `hello`.
private struct DirectoryFacts: Sendable {
    let history: EpochHistoryFile
    let snapshotLSN: UInt64
    let partial: (lsn: UInt64, offset: UInt64)?
}
