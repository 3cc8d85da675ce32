package import LedgerEngine
import LedgerStorage
package import Logging
package import NIOCore
import Synchronization

/// One node of a replicated cluster: it is the primary (ships its log to followers,
/// holds answers for the sync quorum) or a follower (applies its primary's records,
/// serves reads), and moves between the roles: `promote` makes a follower the primary
/// of a new epoch; a primary that learns of a higher epoch fences itself.
///
/// The node owns the ledger's lifecycle: a follower whose log must be cut, or that needs
/// the primary's snapshot, closes its ledger, changes the directory and opens it again.
/// `onLedger` tells the client server which ledger to serve (nil while none is open).
package final class ReplicatedNode: Sendable {
    /// What the node starts as.
    package enum Start: Sendable, Equatable {
        /// The primary (of a new epoch, above every epoch its log holds).
        case primary
        /// A follower of the primary whose replication port is `host:port`.
        case follower(host: String, port: Int)
    }

    /// Opens the ledger in the directory for `role` (the CLI knows the layout, snapshots
    /// and metrics).
    package typealias OpenLedger = @Sendable (_ role: NodeRole) async throws(EngineError) -> DurableLedger

    private struct State {
        var ledger: DurableLedger?
        /// The current primary term's shared parts (nil when not primary).
        var term: PrimaryContext?
        /// A pending `promote`: answered once the new epoch is durable.
        var promotion: CheckedContinuation<Result<UInt64, EngineError>, Never>?
        /// The task following the primary (cancelled by `promote`).
        var following: Task<FollowerLink.Outcome, Never>?
        /// Set when the primary term must end (a higher epoch was seen).
        var fence: (reason: String, wake: AsyncStream<Void>.Continuation)?
        /// Times this process became the primary.
        var promotions: UInt64 = 0
        /// True when etcd decides the roles (`promote` is refused).
        var automatic = false
        /// Consecutive `diverged` refusals of this follower (the retry backs off).
        var divergedRefusals = 0
    }

    /// The wait before the next attempt after `refusals` consecutive `diverged` refusals:
    /// 1, 2, 4, ... up to 60 seconds. A diverged log stays diverged until an operator wipes
    /// the directory; the retry only finds out when that happened, without a critical line
    /// every second.
    static func divergedBackoff(refusals: Int) -> Duration {
        precondition(refusals >= 1, "called after a refusal")
        return .seconds(min(60, 1 << min(refusals - 1, 6)))
    }

    package let settings: NodeSettings
    /// The loops of node-to-node connections (the primary's listener, a follower's link):
    /// better not the client loops, which apply write batches in place.
    private let group: any EventLoopGroup
    private let logger: Logger
    private let openLedger: OpenLedger
    private let onLedger: @Sendable (DurableLedger?) async -> Void
    private let state = Mutex(State())
    /// What the follower knows of its primary.
    package let progress = FollowerProgress()

    package init(settings: NodeSettings, group: any EventLoopGroup, logger: Logger, openLedger: @escaping OpenLedger,
                 onLedger: @escaping @Sendable (DurableLedger?) async -> Void) {
        self.settings = settings
        self.group = group
        self.logger = logger
        self.openLedger = openLedger
        self.onLedger = onLedger
    }

    /// The ledger being served (nil while the directory changes).
    package var ledger: DurableLedger? { state.withLock { $0.ledger } }

    /// The primary term's context, while this node is the primary.
    package var term: PrimaryContext? { state.withLock { $0.term } }

    /// Runs the node until its task is cancelled (shutdown), then closes the ledger.
    package func run(start: Start) async throws {
        var next = start
        defer { logger.info("replication: node stopped") }
        while !Task.isCancelled {
            switch next {
            case .primary:
                // No client write until the new epoch is durable (`becomePrimary`); reads of
                // what the log holds are fine meanwhile.
                let ledger = try await ledgerOpen(role: .follower(primary: nil))
                let quorum = openGate(ledger, leadership: nil)
                do {
                    try await becomePrimary(ledger, epoch: nil)
                } catch {
                    closeGate(ledger, quorum)
                    throw error
                }
                await runPrimaryTerm(ledger, leadership: nil, quorum: quorum)
                // A fenced primary keeps refusing writes until an operator restarts it as a
                // follower (without etcd it does not know the new primary's replication port).
                if Task.isCancelled { break }
                await waitForCancellation()
            case .follower(let host, let port):
                switch try await follow(host: host, port: port, leaderKey: nil) {
                case .promoted: next = .primary
                case .again, .leaderChanged: break
                }
            }
        }
        await close()
    }

    /// Runs the node with automatic failover through etcd until its task is cancelled.
    package func run(election: EtcdElection) async throws {
        state.withLock { $0.automatic = true }
        let progressTask = Task { [self] in
            await election.publishProgress(
                role: { self.ledger?.role.name ?? "starting" }, durableLSN: { self.ledger?.durableLSN ?? 0 })
        }
        do {
            try await runElected(election)
        } catch {
            await stopElected(election, progressTask)
            throw error
        }
        await stopElected(election, progressTask)
    }

    /// Ends what runs beside an elected node before the event loops go away (a task left
    /// connecting to etcd would leak its connect promise), then closes the ledger.
    private func stopElected(_ election: EtcdElection, _ progressTask: Task<Void, Never>) async {
        progressTask.cancel()
        await progressTask.value
        await close()
        await election.client.shutdown()
        await election.leaseClient.shutdown()
        logger.info("replication: node stopped")
    }

    private func runElected(_ election: EtcdElection) async throws {
        while !Task.isCancelled {
            let ledger = try await ledgerOpen(role: .follower(primary: progress.current.primaryClientAddress))
            switch try await election.decide(durableLSN: { ledger.durableLSN }) {
            case .lead(let epoch, let lease):
                let directory = settings.directory
                let recorded = try await DedicatedThread.run { () throws(WALError) in
                    try EpochHistoryFile.read(directory: directory).current
                }
                let floor = max(ledger.epoch, progress.current.primaryEpoch, recorded)
                guard epoch > floor else {
                    // Epochs from before etcd ran this cluster (manual promotions) are higher
                    // than etcd's revisions: give the key back and move the revision past them.
                    logger.error("replication: etcd's revision \(epoch) is not above this log's epoch \(floor); raising it")
                    await election.resign(epoch: epoch, lease: lease)
                    try await election.raiseRevision(above: floor)
                    continue
                }
                let deadline = LeaseDeadline()
                deadline.renewed(sentAt: monotonicNow(), ttl: Double(election.ttlSeconds))
                let leadership = Leadership(election: election, epoch: epoch, lease: lease, deadline: deadline)
                let quorum = openGate(ledger, leadership: leadership)
                do {
                    try await becomePrimary(ledger, epoch: epoch)
                } catch {
                    closeGate(ledger, quorum)
                    await election.resign(epoch: epoch, lease: lease)
                    throw error
                }
                await runPrimaryTerm(ledger, leadership: leadership, quorum: quorum)
                await election.resign(epoch: epoch, lease: lease)
            case .follow(let leader, let createRevision):
                guard let (host, port) = Self.split(leader.replication) else {
                    logger.error("replication: the leader key holds a bad address: \(leader.replication)")
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                _ = try await follow(host: host, port: port, leaderKey: (election, createRevision))
            }
        }
    }

    /// Why `follow` returned.
    private enum FollowEnd { case promoted, again, leaderChanged }

    /// Follows the primary at `host:port` until the directory must change (done here,
    /// then returns `.again`), a promotion, or (with etcd) the leader key changes.
    private func follow(host: String, port: Int, leaderKey: (EtcdElection, Int64)?) async throws -> FollowEnd {
        let ledger = try await ledgerOpen(role: .follower(primary: progress.current.primaryClientAddress))
        let commits = CommitWatch()
        var link = FollowerLink(
            primaryHost: host, primaryPort: port, nodeId: settings.nodeId,
            clientAddress: settings.clientAddress, directory: settings.directory, group: group,
            logger: logger, progress: progress, commits: commits, token: settings.replicationToken)
        link.tls = settings.tls?.client
        // Reads answer only what the primary confirmed committed.
        ledger.setGate(commits)
        defer { ledger.setGate(nil) }
        let task = Task { await link.run(ledger: ledger) }
        state.withLock { $0.following = task }
        let watcher = leaderKey.map { (election, revision) in
            Task {
                await election.watchLeader(createRevision: revision)
                task.cancel()
            }
        }
        let outcome = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        watcher?.cancel()
        await watcher?.value
        let promoting = state.withLock { s in
            s.following = nil
            return s.promotion != nil
        }
        if case .diverged = outcome {} else { state.withLock { $0.divergedRefusals = 0 } }
        switch outcome {
        case .cancelled:
            if Task.isCancelled { return .again }
            if promoting {
                logger.notice("replication: promoted: this node becomes the primary", metadata: [
                    "log_ends_at": "\(ledger.loggedLSN)",
                ])
                return .promoted
            }
            return .leaderChanged
        case .truncate(let after):
            try await closeAndChange { () throws(WALError) in
                let outcome = try LogTruncation.truncate(directory: self.settings.directory, after: after)
                self.logger.notice("replication: log cut to rejoin the primary", metadata: [
                    "after_lsn": "\(after)", "outcome": "\(outcome)",
                ])
            }
        case .fetchSnapshot:
            let (last, durable) = (ledger.loggedLSN, ledger.durableLSN)
            await close()
            do {
                _ = try await link.fetchSnapshot(lastLSN: last, durableLSN: durable)
            } catch {
                logger.warning("replication: snapshot fetch failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        case .stalePrimary(let why):
            logger.error("replication: refusing to follow a primary of an older epoch", metadata: ["why": "\(why)"])
            try? await Task.sleep(for: .seconds(1))
        case .diverged(let why):
            let refusals = state.withLock { s in
                s.divergedRefusals += 1
                return s.divergedRefusals
            }
            let wait = Self.divergedBackoff(refusals: refusals)
            logger.critical("replication: refusing to follow: this log diverged from the primary's", metadata: [
                "why": "\(why)", "attempt": "\(refusals)", "next_try_in": "\(wait)",
            ])
            try? await Task.sleep(for: wait)
        }
        return .again
    }

    /// `HOST:PORT` split (the host may be a bracketed IPv6 address).
    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              port > 0, port < 65536 else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    // MARK: Status

    /// The node's state now, for `status` and metrics.
    package func status() -> NodeStatus {
        let (ledger, term, promotions) = state.withLock { ($0.ledger, $0.term, $0.promotions) }
        let link = progress.current
        let role = ledger?.role
        let last = ledger?.loggedLSN ?? 0
        let durable = ledger?.durableLSN ?? 0
        var status = NodeStatus(
            node: settings.nodeId, role: role?.name ?? "starting", epoch: ledger?.epoch ?? 0, lastLSN: last,
            durableLSN: durable, commitLSN: term?.commitLSN ?? link.primaryCommitLSN,
            primary: role == .primary ? settings.clientAddress : (role?.knownPrimary ?? link.primaryClientAddress),
            mode: "\(settings.mode)", syncSet: term?.quorum?.members ?? [], followers: [], lagLSN: nil,
            lagSeconds: nil, link: nil, promotions: promotions)
        let now = monotonicNow()
        if let term {
            status.epoch = term.epoch
            status.followers = term.registry.all.map { f in
                NodeStatus.Follower(
                    node: f.nodeId, address: f.clientAddress, state: f.state, durableLSN: f.durableLSN,
                    appliedLSN: f.appliedLSN, lagLSN: last > f.durableLSN ? last - f.durableLSN : 0,
                    lagSeconds: f.durableLSN >= durable ? 0 : max(0, now - f.caughtUpAt), sentBytes: f.sentBytes,
                    sentRecords: f.sentRecords)
            }
        } else if role != nil, role != .primary {
            status.link = link.state
            status.lagLSN = link.primaryLastLSN > last ? link.primaryLastLSN - last : 0
            status.lagSeconds = status.lagLSN == 0 || link.caughtUpAt == 0 ? 0 : max(0, now - link.caughtUpAt)
        }
        return status
    }

    // MARK: Promotion

    /// Makes this follower the primary of a new epoch; returns the epoch once it is durable.
    package func promote() async throws(EngineError) -> UInt64 {
        let result: Result<UInt64, EngineError> = await withCheckedContinuation { continuation in
            let task: Task<FollowerLink.Outcome, Never>? = state.withLock { s in
                guard !s.automatic, s.term == nil, s.promotion == nil, let following = s.following else { return nil }
                s.promotion = continuation
                return following
            }
            guard let task else {
                let why = state.withLock { $0.automatic }
                    ? "etcd decides the primary in this cluster (automatic failover): stop the primary to fail over"
                    : "only a following node can be promoted (this one is \(ledger?.role.name ?? "starting"))"
                continuation.resume(returning: .failure(EngineError(.notFollower, why)))
                return
            }
            task.cancel()
        }
        return try result.get()
    }

    // MARK: Primary term

    /// What a primary term under etcd holds: the key's epoch, its lease and its deadline.
    private struct Leadership: Sendable {
        let election: EtcdElection
        let epoch: UInt64
        let lease: Int64
        let deadline: LeaseDeadline
    }

    /// Raises the epoch durably (to `epoch`, or above every epoch this node knows when
    /// nil) and takes client writes.
    private func becomePrimary(_ ledger: DurableLedger, epoch chosen: UInt64?) async throws {
        let directory = settings.directory
        let history = try await DedicatedThread.run { () throws(WALError) in try EpochHistoryFile.read(directory: directory) }
        let epoch = chosen ?? max(history.current, ledger.epoch, progress.current.primaryEpoch) + 1
        // Shipped batches still queued for the apply finish first (promote waits for them
        // under the log's lock otherwise).
        await ledger.drainShippedApplies()
        do {
            try ledger.promote(to: epoch) { (firstLSN) throws(EngineError) in
                do throws(WALError) {
                    // A follower keeps its primary's whole history, which may name epochs
                    // that start after this log's end: those records are not here.
                    try history.truncated(after: firstLSN - 1).appending(epoch: epoch, firstLSN: firstLSN)
                        .write(directory: directory)
                } catch {
                    throw EngineError(.logFailed, "cannot record epoch \(epoch): \(error)", cause: .log(error))
                }
            }
        } catch {
            let waiting = state.withLock { s in defer { s.promotion = nil }; return s.promotion }
            waiting?.resume(returning: .failure(error))
            throw error
        }
        let waiting = state.withLock { s in
            s.promotions += 1
            defer { s.promotion = nil }
            return s.promotion
        }
        waiting?.resume(returning: .success(epoch))
        logger.notice("replication: primary of epoch \(epoch)", metadata: [
            "epoch": "\(epoch)", "log_ends_at": "\(ledger.loggedLSN)", "mode": "\(settings.mode)",
        ])
        primaryAnnouncement.withLock { $0 }?()
    }

    /// Told each time the node becomes the primary (its gate is set, it takes writes).
    private let primaryAnnouncement = Mutex<(@Sendable () -> Void)?>(nil)

    /// Calls `announce` each time the node becomes the primary and takes writes (a static
    /// primary's `kamino serve` says it listens only then).
    package func onPrimary(_ announce: @escaping @Sendable () -> Void) {
        primaryAnnouncement.withLock { $0 = announce }
    }

    /// Sets the gate a primary term answers through (sync: the quorum; with etcd: the
    /// lease) before the node's role turns primary (`becomePrimary`), so that no write or
    /// read of the term is ever answered without it. Returns the term's sync quorum.
    private func openGate(_ ledger: DurableLedger, leadership: Leadership?) -> SyncQuorum? {
        assert(ledger.role != .primary, "the gate is in place before the node takes writes")
        let quorum: SyncQuorum?
        switch settings.mode {
        case .async: quorum = nil
        case .sync(let count, let timeout):
            var publish: (@Sendable ([String]) async -> Bool)?
            if let l = leadership {
                publish = { @Sendable members in await l.election.publishSync(members, epoch: l.epoch) }
            }
            quorum = SyncQuorum(quorum: count, commitLSN: ledger.loggedLSN, timeout: timeout, publish: publish)
        }
        ledger.setGate(PrimaryGate(quorum: quorum, lease: leadership?.deadline, isPrimary: { ledger.role == .primary }))
        return quorum
    }

    /// Takes down a gate whose term never began (the promotion failed).
    private func closeGate(_ ledger: DurableLedger, _ quorum: SyncQuorum?) {
        quorum?.stop(EngineError(.replicationTimeout, "this node did not become the primary; the batch's outcome is unknown"))
        ledger.setGate(nil)
    }

    /// Ships the log to followers until the node is stopped or fenced (with etcd: or its
    /// lease is lost). The term's gate is already set (`openGate`), with `quorum`.
    private func runPrimaryTerm(_ ledger: DurableLedger, leadership: Leadership?, quorum: SyncQuorum?) async {
        let directory = settings.directory
        guard let history = try? await DedicatedThread.run({ () throws(WALError) in
            try EpochHistoryFile.read(directory: directory)
        }) else {
            ledger.setRole(.fenced(reason: "the epoch history cannot be read", primary: nil))
            closeGate(ledger, quorum)
            return
        }
        let tail = RecordTail(lastLSN: ledger.loggedLSN)
        let registry = FollowerRegistry()
        let (fenceSignal, fenceWake) = AsyncStream<Void>.makeStream()
        var draft = PrimaryContext(
            ledger: ledger, directory: directory, nodeId: settings.nodeId, clientAddress: settings.clientAddress,
            epoch: ledger.epoch, history: history, tail: tail, quorum: quorum, registry: registry, logger: logger,
            onHigherEpoch: { [weak self] epoch in self?.fence("a peer is at epoch \(epoch), above this primary's") })
        draft.authentication = settings.followerAuthentication
        let context = draft
        state.withLock { s in
            s.term = context
            s.fence = (reason: "", wake: fenceWake)
        }
        ledger.ship(to: tail)
        let retain = settings.retainRecords
        ledger.retainLog { [registry] in
            let floor = ledger.loggedLSN > retain ? ledger.loggedLSN - retain : 1
            return max(registry.oldestNeeded ?? .max, floor)
        }
        let listener: ReplicationListener
        do {
            listener = try await ReplicationListener.bind(
                host: settings.replicationHost, port: settings.replicationPort, group: group, tls: settings.tls?.server)
        } catch {
            logger.critical("replication: cannot listen for followers", metadata: [
                "address": "\(settings.replicationHost):\(settings.replicationPort)", "error": "\(error)",
            ])
            fence("cannot listen for followers: \(error)")
            endTerm(ledger, tail: tail, quorum: quorum)
            return
        }
        let replicationAddress = settings.replicationAddress ?? announceReplication(listener.localAddress)
        if settings.replicationAddress != nil { _ = announceReplication(listener.localAddress) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listener.run(context) }
            group.addTask { for await _ in fenceSignal { return } }
            if let leadership {
                let record = LeaderRecord(node: settings.nodeId, client: settings.clientAddress, replication: replicationAddress)
                group.addTask { [weak self] in
                    // Followers find the leader by this record (with its bound port).
                    while !(await leadership.election.publishLeader(record, lease: leadership.lease, epoch: leadership.epoch)) {
                        guard leadership.deadline.isValid, !Task.isCancelled else { break }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    let reason = await leadership.election.holdLease(leadership.lease, deadline: leadership.deadline)
                    self?.fence(reason)
                }
            }
            await group.next()
            group.cancelAll()
        }
        endTerm(ledger, tail: tail, quorum: quorum)
    }

    /// Stops writes now: a higher epoch exists (or leadership was lost).
    package func fence(_ reason: String) {
        guard let (ledger, wake) = state.withLock({ s -> (DurableLedger?, AsyncStream<Void>.Continuation?) in
            (s.ledger, s.fence?.wake)
        }) as (DurableLedger?, AsyncStream<Void>.Continuation?)? else { return }
        if let ledger, ledger.role == .primary {
            ledger.setRole(.fenced(reason: reason, primary: nil))
            logger.warning("replication: fenced: this node no longer accepts writes", metadata: ["reason": "\(reason)"])
        }
        wake?.yield()
        wake?.finish()
    }

    private func endTerm(_ ledger: DurableLedger, tail: RecordTail, quorum: SyncQuorum?) {
        if ledger.role == .primary {
            ledger.setRole(.fenced(reason: "the node is stopping", primary: nil))
        }
        ledger.ship(to: nil)
        ledger.retainLog(nil)
        // Batches still waiting were logged (and maybe replicated): their outcome is unknown.
        quorum?.stop(EngineError(.replicationTimeout,
                                 "this node stopped being the primary while the batch was in flight; its outcome is unknown"))
        ledger.setGate(nil)
        tail.finishAll()
        state.withLock { s in
            s.term = nil
            s.fence = nil
        }
    }

    /// Logs and announces the replication port's real address; returns it.
    private func announceReplication(_ address: SocketAddress?) -> String {
        let text = address.flatMap { a in a.ipAddress.map { "\($0):\(a.port ?? 0)" } } ?? "\(settings.replicationHost):\(settings.replicationPort)"
        logger.notice("replication: listening for followers on \(text)")
        replicationAnnouncement.withLock { $0?(text) }
        return text
    }

    /// Told the replication port's real address each time the node starts listening.
    private let replicationAnnouncement = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Calls `announce` with the replication port's real address whenever the node starts
    /// listening for followers (the CLI prints it: port 0 picks one).
    package func onReplicationListening(_ announce: @escaping @Sendable (String) -> Void) {
        replicationAnnouncement.withLock { $0 = announce }
    }

    // MARK: Ledger lifecycle

    private func ledgerOpen(role: NodeRole) async throws -> DurableLedger {
        if let open = state.withLock({ $0.ledger }) {
            open.setRole(role)
            return open
        }
        let ledger = try await openLedger(role)
        // A failed log write fences the ledger (records may be on followers): the term
        // ends too, so that the cluster elects another primary (docs/replication.md).
        ledger.onLogCondition { [weak self] condition in
            if case .failed = condition { self?.fence("its log cannot be written") }
        }
        state.withLock { $0.ledger = ledger }
        await onLedger(ledger)
        return ledger
    }

    private func close() async {
        guard let ledger = state.withLock({ s in defer { s.ledger = nil }; return s.ledger }) else { return }
        await onLedger(nil)
        await ledger.close()
    }

    private func closeAndChange(_ change: @escaping @Sendable () throws(WALError) -> Void) async throws {
        await close()
        try await DedicatedThread.run { () throws(WALError) in try change() }
    }

    private func waitForCancellation() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }
}
