import ArgumentParser
import KaminoEtcd
import LedgerEngine
import LedgerReplication
import LedgerServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `kamino serve` with replication, and `kamino follow`: a `ReplicatedNode` owns the
/// ledger and its role; the client server answers with whichever ledger the node has open
/// (writes only on the primary, `not_primary` elsewhere). Runs until SIGTERM/SIGINT.
struct ReplicatedServe {
    let settings: ServeSettings
    let acceptDataLoss: Bool
    let logger: Logger
    /// TLS on the client, metrics and replication ports (nil: plaintext).
    var tls: NodeTLS? = nil
    /// The token a follower's `hello` carries (`kamino follow --token-file`); nil: none.
    var replicationToken: (@Sendable () throws -> [UInt8])? = nil

    func run(start: ReplicatedNode.Start) async throws {
        let metrics = ServerMetrics(version: KaminoVersion.version, commit: KaminoVersion.commit)
        do { try makeDirectories(settings.data) } catch { throw exitFailure("error: \(error)") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        // Node-to-node connections get a loop of their own: a client loop applies write
        // batches in place (milliseconds each), and records shipped or acks received on
        // that loop would wait for the apply (the sync answer's path would be serial).
        let replicationGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let shutdownLoops: @Sendable () async -> Void = {
            try? await group.shutdownGracefully()
            try? await replicationGroup.shutdownGracefully()
        }
        let control = ReplicatedNodeControl()
        var configuration = settings.serverConfiguration
        configuration.tls = tls?.clientPort
        let server = LedgerTCPServer(
            configuration: configuration,
            ledger: nil, group: group, metrics: metrics, nodeControl: control)
        let r = settings.replication
        let mode: ReplicationMode = r.mode == .sync
            ? .sync(quorum: r.syncQuorum, timeout: .milliseconds(r.syncTimeoutMs)) : .async
        let address: SocketAddress
        do { address = try await server.start() } catch { throw exitFailure("error: \(error)") }
        // Port 0 picks one: the address advertised (and the default node id) use the real one.
        var advertise = r.advertise
        if advertise.port == 0, let port = address.port { advertise.port = port }
        let nodeId = r.nodeIdWasSet ? r.nodeId : advertise.description
        let (opened, openedSignal) = AsyncStream<Result<Void, EngineError>>.makeStream()
        let startsAsPrimary = r.etcd.isEmpty && start == .primary
        let settings = self.settings
        let acceptDataLoss = self.acceptDataLoss
        let logger = self.logger
        let pulses = PulseSlot(logger: logger)
        var nodeSettings = NodeSettings(
            directory: settings.data, nodeId: nodeId, clientAddress: advertise.description,
            replicationHost: r.listen.host, replicationPort: r.listen.port,
            replicationAddress: r.advertiseReplication?.description, mode: mode,
            retainRecords: r.retainRecords)
        nodeSettings.tls = tls?.replication
        // With --auth jwt a follower must present a token with `replicate` (docs/security.md).
        if let verifier = settings.security.server.verifier {
            nodeSettings.followerAuthentication = FollowerAuthentication(verifier: verifier) { peer, subject, reason, detail in
                server.followerRefused(peer: peer, subject: subject, reason: reason, detail: detail)
            }
        }
        nodeSettings.replicationToken = replicationToken
        let node = ReplicatedNode(
            settings: nodeSettings,
            group: replicationGroup, logger: logger,
            openLedger: { (role) throws(EngineError) -> DurableLedger in
                do throws(EngineError) {
                    return try await LedgerOpening.open(settings, role: role, acceptDataLoss: acceptDataLoss,
                                                        metrics: metrics, logger: logger)
                } catch {
                    openedSignal.yield(.failure(error))
                    throw error
                }
            },
            onLedger: { ledger in
                // Before the ledger closes (nil), its scheduler stops.
                await pulses.replace(ledger)
                server.replaceLedger(ledger)
                if ledger != nil && !startsAsPrimary { openedSignal.yield(.success(())) }
            })
        node.onReplicationListening { address in announce("replication on \(address)") }
        // A primary started as such (no etcd) says it listens once it takes writes: its
        // ledger opens read-only and becomes the primary after recording a new epoch.
        if startsAsPrimary { node.onPrimary { openedSignal.yield(.success(())) } }
        control.attach(node)

        var election: EtcdElection?
        if !r.etcd.isEmpty {
            do {
                // A request must fail well within the lease, so a partitioned etcd is noticed
                // before the lease runs out.
                let client = try EtcdClient(endpoints: r.etcd, eventLoopGroup: group,
                                            requestTimeout: .milliseconds(max(200, r.leaseTtlMs / 4)))
                let leaseClient = try EtcdClient(endpoints: r.etcd, eventLoopGroup: group,
                                                 requestTimeout: .milliseconds(r.leaseTtlMs * 6 / 10))
                election = EtcdElection(client: client, leaseClient: leaseClient, cluster: r.cluster, nodeId: nodeId,
                                        clientAddress: advertise.description, ttlSeconds: r.leaseTtlMs / 1000,
                                        syncMode: r.mode == .sync, logger: logger)
            } catch {
                throw exitFailure("error: etcd: \(error)")
            }
        }
        let replicationMetrics = ReplicationMetrics(registry: metrics.registry)
        var services: [any Service] = [NodeService(node: node, start: start, election: election), server]
        do {
            if let metricsAddress = settings.metrics {
                let endpoint = MetricsHTTPServer(
                    host: metricsAddress.host, port: metricsAddress.port, group: group,
                    bearerToken: settings.security.metricsToken, tls: tls?.clientPort,
                    ready: { node.ledger?.acceptsWrites ?? false },
                    render: {
                        replicationMetrics.update(node.status())
                        return server.metrics.render(ledger: node.ledger, inFlight: server.inFlight)
                    })
                let bound = try await endpoint.start()
                services.append(endpoint)
                announce("metrics on \(Serve.describe(bound, fallback: metricsAddress.description))")
            }
            services.append(ShutdownNotice(logger: logger))
            let serviceGroup = ServiceGroup(configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            // The client port is announced once the first ledger is open (before, every
            // request would be answered `busy`).
            let running = Task {
                // A node that stops before it is ready ends the wait below.
                defer { openedSignal.finish() }
                try await serviceGroup.run()
            }
            var first = opened.makeAsyncIterator()
            switch await first.next() {
            case .failure(let error)?:
                logger.critical("cannot start", metadata: ["error": "\(error.message)"])
                running.cancel()
                _ = try? await running.value
                await shutdownLoops()
                throw exitFailure("error: \(error.message)")
            case nil:
                break
            case .success?:
                announce("listening on \(Serve.describe(address, fallback: settings.listen.description))")
            }
            do {
                try await running.value
            } catch {
                await shutdownLoops()
                throw exitFailure("error: \(error)")
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try? await server.stop()
            await shutdownLoops()
            throw exitFailure("error: \(error)")
        }
        await shutdownLoops()
        logger.notice("stopped: the log is closed", metadata: ["data_dir": "\(StartupSummary.absolute(settings.data))"])
        announce("stopped")
    }
}

/// The node as a service: it runs until graceful shutdown, then closes its ledger (after
/// the servers listed after it have drained).
private struct NodeService: Service {
    let node: ReplicatedNode
    let start: ReplicatedNode.Start
    /// Automatic failover (etcd decides the role; `start` is ignored).
    let election: EtcdElection?

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            if let election {
                try await node.run(election: election)
            } else {
                try await node.run(start: start)
            }
        }
    }
}
