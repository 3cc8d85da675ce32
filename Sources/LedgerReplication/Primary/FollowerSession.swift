import LedgerEngine
import LedgerStorage
import Logging
import NIOCore

/// One follower's connection on the primary: answers its `hello` with a `CatchUpPlan`,
/// then streams records (from memory, or read back from the segments while it is
/// behind) or the snapshot, and feeds its acks to the registry and the sync quorum.
struct FollowerSession {
    let context: PrimaryContext
    let peer: String

    /// Largest records frame body sent (whole records; one larger record goes alone).
    static let frameBytes = 4 << 20
    /// Snapshot bytes per chunk.
    static let chunkBytes = 4 << 20
    /// A heartbeat goes out at least this often, and sooner (every `tick`) when the
    /// commit LSN moved since the last one (follower reads wait for it).
    static let heartbeatInterval: Duration = .milliseconds(100)
    static let tick: Duration = .milliseconds(10)
    /// A follower with records outstanding and no ack progress for this long is
    /// disconnected (`AckWatch`): a hung sync member must not hold every answer.
    static let ackTimeout: Double = 5

    func run(_ channel: NIOAsyncChannel<ReplicationFrame, ReplicationFrame>) async {
        // The sender closes the connection itself when the follower stops acknowledging:
        // a stopped follower never closes its side, so the ack reader would wait forever.
        let connection = channel.channel
        do {
            try await channel.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                guard let first = try await frames.next() else { return }
                guard case .hello(let hello) = first.message else {
                    try await refuse(outbound, .protocolError, "the first frame must be hello")
                    return
                }
                if first.epoch > context.epoch {
                    // A node has seen a newer epoch: another primary exists. Stop writing.
                    context.onHigherEpoch(first.epoch)
                    try await refuse(outbound, .notPrimary, "this node's epoch \(context.epoch) is older than \(first.epoch)")
                    return
                }
                guard context.ledger.role == .primary else {
                    try await refuse(outbound, .notPrimary, "this node is no longer the primary")
                    return
                }
                if let authentication = context.authentication,
                    let why = authentication.check(hello.token, peer: Self.host(of: peer))
                {
                    context.logger.warning("replication: follower refused", metadata: [
                        "node": "\(hello.nodeId)", "peer": "\(peer)", "reason": "\(why)",
                    ])
                    try await refuse(outbound, .unauthorized, why)
                    return
                }
                let plan = try await plan(for: hello)
                context.logger.info("replication: follower connected", metadata: [
                    "node": "\(hello.nodeId)", "peer": "\(peer)", "last_lsn": "\(hello.lastLSN)", "plan": "\(plan)",
                ])
                switch plan {
                case .truncate(let after):
                    try await outbound.write(frame(.welcome(welcome(hello, .truncate, truncateTo: after))))
                case .cannotServe(let why):
                    try await refuse(outbound, .cannotServe, why)
                case .snapshot(let lsn):
                    var writer = PacedFrameWriter(channel: connection)
                    try await sendSnapshot(lsn: lsn, hello: hello, &writer)
                case .stream(let from):
                    // The follower streams only if its record at `from - 1` is this log's.
                    let check = try await joinCheck(before: from)
                    try await outbound.write(frame(.welcome(welcome(
                        hello, .stream, startLSN: from, truncateTo: check?.lsn ?? 0, snapshotLSN: check?.fingerprint ?? 0))))
                    try await stream(from: from, hello: hello, frames: &frames, outbound) {
                        connection.close(promise: nil)
                    }
                }
            }
        } catch {
            context.logger.notice("replication: follower connection ended", metadata: [
                "peer": "\(peer)", "error": "\(error)",
            ])
        }
    }

    /// The IP address of a `[IPv4]1.2.3.4/1.2.3.4:5` style peer description (the audit
    /// log names addresses, not ports).
    static func host(of peer: String) -> String {
        guard let slash = peer.lastIndex(of: "/") else { return peer }
        let rest = peer[peer.index(after: slash)...]
        guard let colon = rest.lastIndex(of: ":") else { return String(rest) }
        return String(rest[..<colon])
    }

    /// Decides from the follower's `hello`, reading what the primary's directory holds.
    private func plan(for hello: ReplicationMessage.Hello) async throws -> CatchUpPlan {
        guard let followerHistory = EpochHistoryFile(validating: hello.history) else {
            return .cannotServe("the follower's epoch history is not in order")
        }
        let directory = context.directory
        let holdings = try await DedicatedThread.run { () throws(WALError) -> Holdings in
            let segments = try SegmentName.list(in: directory)
            return Holdings(oldestLogLSN: segments.first?.firstLSN,
                            newestSnapshot: SnapshotStore(directory: directory).newestValid()?.lsn)
        }
        return CatchUpPlan.decide(
            followerHistory: followerHistory, followerLast: hello.lastLSN, primaryHistory: context.history,
            primaryLast: context.ledger.loggedLSN, oldestLogLSN: holdings.oldestLogLSN,
            newestSnapshot: holdings.newestSnapshot)
    }

    /// This log's record just before `from` and its fingerprint (`JoinCheck`), when it is
    /// durable and still in the segments; nil otherwise (the welcome then asks no check).
    private func joinCheck(before from: UInt64) async throws -> (lsn: UInt64, fingerprint: UInt64)? {
        guard from > 1, from - 1 <= context.ledger.durableLSN else { return nil }
        let lsn = from - 1
        let directory = context.directory
        let fingerprint = try await DedicatedThread.run { () throws(WALError) in
            JoinCheck.fingerprint(directory: directory, lsn: lsn)
        }
        return fingerprint.map { (lsn, $0) }
    }

    private func welcome(_ hello: ReplicationMessage.Hello, _ action: ReplicationMessage.Welcome.Action,
                         startLSN: UInt64 = 0, truncateTo: UInt64 = 0, snapshotLSN: UInt64 = 0,
                         snapshotSize: UInt64 = 0, snapshotOffset: UInt64 = 0) -> ReplicationMessage.Welcome {
        ReplicationMessage.Welcome(
            nodeId: context.nodeId, clientAddress: context.clientAddress, action: action, startLSN: startLSN,
            truncateTo: truncateTo, snapshotLSN: snapshotLSN, snapshotSize: snapshotSize,
            snapshotOffset: snapshotOffset, history: context.history.wire)
    }

    private func frame(_ message: ReplicationMessage) -> ReplicationFrame {
        ReplicationFrame(epoch: context.epoch, message: message)
    }

    private func refuse(_ outbound: NIOAsyncChannelOutboundWriter<ReplicationFrame>,
                        _ code: ReplicationMessage.Refuse.Code, _ why: String) async throws {
        let primary = context.ledger.role == .primary ? context.clientAddress : (context.ledger.role.knownPrimary ?? "")
        try await outbound.write(frame(.refuse(.init(code: code, primaryAddress: primary, message: why))))
    }

    // MARK: Snapshot

    /// Streams the snapshot file from where the follower's partial download stopped.
    private func sendSnapshot(lsn: UInt64, hello: ReplicationMessage.Hello,
                              _ writer: inout PacedFrameWriter) async throws {
        let path = context.directory + "/" + SnapshotInfo.fileName(lsn: lsn)
        let size = try await DedicatedThread.run { () throws(WALError) in try FileChunks.size(path: path) }
        var offset: UInt64 = hello.partialSnapshotLSN == lsn ? min(hello.partialSnapshotOffset, size) : 0
        context.registry.register(.init(nodeId: hello.nodeId, clientAddress: hello.clientAddress, peer: peer,
                                        state: "snapshot", durableLSN: hello.durableLSN, appliedLSN: hello.lastLSN,
                                        caughtUpAt: monotonicNow()))
        defer { context.registry.remove(hello.nodeId) }
        try await writer.write(frame(.welcome(welcome(hello, .snapshot, snapshotLSN: lsn, snapshotSize: size,
                                                         snapshotOffset: offset))))
        while offset < size {
            let at = offset
            let bytes = try await DedicatedThread.run { () throws(WALError) in
                try FileChunks.read(path: path, offset: at, count: Self.chunkBytes)
            }
            guard !bytes.isEmpty else { throw WALError(.corrupt, "snapshot ended early at \(at)", file: path) }
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            try await writer.write(frame(.snapshotChunk(.init(snapshotLSN: lsn, offset: at, totalSize: size,
                                                                 bytes: buffer))))
            offset += UInt64(bytes.count)
            context.registry.update(hello.nodeId) { $0.sentBytes += UInt64(bytes.count) }
        }
        try await writer.write(frame(.snapshotDone(.init(snapshotLSN: lsn, totalSize: size))))
        // The connection closes after this: nothing may still be queued then.
        try await writer.finish()
    }

    // MARK: Streaming

    /// Sends records from `from` on as they come, and heartbeats; reads acks.
    private func stream(from: UInt64, hello: ReplicationMessage.Hello,
                        frames: inout NIOAsyncChannelInboundStream<ReplicationFrame>.AsyncIterator,
                        _ outbound: NIOAsyncChannelOutboundWriter<ReplicationFrame>,
                        close: @escaping @Sendable () -> Void) async throws {
        let node = hello.nodeId
        context.registry.register(.init(nodeId: node, clientAddress: hello.clientAddress, peer: peer,
                                        state: "catching_up", durableLSN: hello.durableLSN,
                                        appliedLSN: hello.lastLSN, caughtUpAt: monotonicNow()))
        // The quorum counts this follower only from its acks, never from its hello: a
        // follower whose log the join check finds diverged holds none of this log's records
        // past the check, yet its hello claims them durable (it refuses right after the
        // welcome, but an admission in between would have let its claim commit batches).
        // A follower acks its durable LSN as soon as it accepts the welcome.
        let (listener, signals) = context.tail.listen()
        defer {
            context.tail.stopListening(listener)
            context.registry.remove(node)
            context.quorum?.remove(node)
        }
        let context = self.context
        let watch = SharedAckWatch(acked: hello.durableLSN)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // A tick wakes the sender for heartbeats even when no record comes.
                var reported = context.commitLSN
                var last = ContinuousClock.now
                while !Task.isCancelled {
                    try await Task.sleep(for: Self.tick)
                    // Checked here, not in the sender: the sender can be blocked in a write
                    // to a follower that stopped reading (its socket buffers full) for good.
                    if let (acked, sentThrough) = watch.stalled(timeout: Self.ackTimeout) {
                        // Closing the connection fails the sender's write and ends the ack
                        // loop: the follower leaves the sync set.
                        context.logger.warning("replication: follower stopped acknowledging; disconnecting it", metadata: [
                            "node": "\(node)", "acked_lsn": "\(acked)", "sent_through": "\(sentThrough)",
                            "seconds": "\(Self.ackTimeout)",
                        ])
                        close()
                        throw ReplicationFailure(.timedOut, "\(node) acknowledged nothing past \(acked) in \(Self.ackTimeout) s (sent through \(sentThrough))")
                    }
                    let commit = context.commitLSN
                    if commit != reported || ContinuousClock.now - last >= Self.heartbeatInterval {
                        reported = commit
                        last = ContinuousClock.now
                        context.tail.poke(listener)
                    }
                }
            }
            group.addTask {
                // When the sender stops, the follower sees the stream end and closes, which
                // ends the ack loop below.
                defer { outbound.finish() }
                try await send(from: from, node: node, signals: signals, watch: watch, outbound)
            }
            defer { group.cancelAll() }
            // Acks: the follower's durable LSN.
            while let next = try await frames.next() {
                switch next.message {
                case .ack(let ack):
                    watch.acknowledged(ack.durableLSN)
                    let primaryDurable = context.ledger.durableLSN
                    context.registry.update(node) { entry in
                        entry.durableLSN = max(entry.durableLSN, ack.durableLSN)
                        entry.appliedLSN = max(entry.appliedLSN, ack.appliedLSN)
                        if ack.durableLSN >= primaryDurable { entry.caughtUpAt = monotonicNow() }
                    }
                    context.quorum?.progress(node, durable: ack.durableLSN)
                case .refuse(let refusal):
                    if next.epoch > context.epoch { context.onHigherEpoch(next.epoch) }
                    throw ReplicationFailure(.refused, "the follower refused: \(refusal.code) \(refusal.message)")
                default:
                    throw ReplicationFailure(.protocolError, "unexpected \(next.message.type) from a follower")
                }
            }
            throw ReplicationFailure(.disconnected, "the follower closed the connection")
        }
    }

    /// The sender: everything after `next - 1` as soon as it exists, else a heartbeat.
    private func send(from: UInt64, node: String, signals: AsyncStream<Void>, watch: SharedAckWatch,
                      _ outbound: NIOAsyncChannelOutboundWriter<ReplicationFrame>) async throws {
        var next = from
        var lastBeat = ContinuousClock.now
        var reportedCommit: UInt64 = 0
        var streaming = false
        for await _ in signals {
            guard context.ledger.role == .primary else {
                try await refuse(outbound, .notPrimary, "this node stopped being the primary")
                throw ReplicationFailure(.refused, "no longer the primary")
            }
            while true {
                let sent: (lastLSN: UInt64, count: Int, bytes: Int)?
                switch context.tail.read(from: next, limit: Self.frameBytes) {
                case .upToDate:
                    sent = nil
                    if !streaming {
                        streaming = true
                        context.registry.update(node) { $0.state = "streaming" }
                    }
                case .records(let bytes, let first, let last, let count):
                    // This process's writer made these bytes and their checksums in memory.
                    try await outbound.write(frame(.records(try .init(ownLog: bytes, firstLSN: first, lastLSN: last,
                                                                       count: count))))
                    sent = (last, count, bytes.readableBytes)
                case .onDisk(let oldestInMemory):
                    // Only what is durable is on disk; a write in flight comes with the next signal.
                    let through = min(oldestInMemory - 1, context.ledger.durableLSN)
                    guard through >= next else { sent = nil; break }
                    let directory = context.directory
                    let at = next
                    let read = try await DedicatedThread.run { () throws(WALError) in
                        let r = try LogReadback.read(directory: directory, from: at, through: through,
                                                     limit: Self.frameBytes)
                        return ReadBack(bytes: r.bytes, lastLSN: r.lastLSN, count: r.count)
                    }
                    try await outbound.write(frame(.records(try .init(validating: read.bytes, firstLSN: at,
                                                                       lastLSN: read.lastLSN, count: read.count))))
                    sent = (read.lastLSN, read.count, read.bytes.readableBytes)
                }
                guard let sent else { break }
                next = sent.lastLSN + 1
                watch.sent(through: sent.lastLSN)
                context.registry.update(node) { entry in
                    entry.sentRecords += UInt64(sent.count)
                    entry.sentBytes += UInt64(sent.bytes)
                }
            }
            let commit = context.commitLSN
            if commit != reportedCommit || ContinuousClock.now - lastBeat >= Self.heartbeatInterval {
                try await outbound.write(frame(.heartbeat(.init(
                    lastLSN: context.ledger.loggedLSN, durableLSN: context.ledger.durableLSN,
                    commitLSN: commit, primaryTimeNanoseconds: wallClockNanoseconds()))))
                reportedCommit = commit
                lastBeat = ContinuousClock.now
            }
        }
        throw ReplicationFailure(.disconnected, "the primary stopped shipping")
    }
}

/// What the primary's directory holds for catch-up.
private struct Holdings: Sendable {
    let oldestLogLSN: UInt64?
    let newestSnapshot: UInt64?
}

/// Records read back from the segments, carried across threads.
private struct ReadBack: Sendable {
    let bytes: ByteBuffer
    let lastLSN: UInt64
    let count: Int
}
