import Glibc
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

extension ClusterTests {
    /// Sync (quorum 1), three etcd members; each node reaches etcd through its own
    /// `TCPFaultProxy`, and followers reach each node's replication port through another
    /// (`--advertise-replication`). Partition the primary (blackhole its etcd and
    /// replication proxies; clients still reach it): it stops acknowledging within its
    /// lease, another node takes over, and no acknowledgement of the old primary comes
    /// after the new primary's first (acknowledgement timelines). After the heal the old
    /// primary rejoins as a follower; nothing acknowledged is lost; digests end equal.
    @Test(.timeLimit(.minutes(3)))
    func partitionedPrimaryStopsAcknowledgingAndRejoins() async throws {
        let etcd: EtcdTestServer
        do {
            etcd = try EtcdTestServer.start()
        } catch {
            progressLine("skipping partitionedPrimaryStopsAcknowledgingAndRejoins: \(error)")
            return
        }
        defer { etcd.stop() }
        let dir = try ClusterDirectory("partition")
        var nodes: [ClusterNode] = []
        var proxies: [String: (etcd: TCPFaultProxy, replication: TCPFaultProxy)] = [:]
        defer {
            for p in proxies.values {
                p.etcd.stop()
                p.replication.stop()
            }
            tearDown(nodes, dir)
        }
        for name in ["a", "b", "c"] {
            let replicationPort = try #require(freeLoopbackTCPPort())
            let toEtcd = try TCPFaultProxy(upstreamPort: etcd.clientPort)
            let toReplication = try TCPFaultProxy(upstreamPort: replicationPort)
            proxies[name] = (toEtcd, toReplication)
            let flags = ["--etcd", toEtcd.address, "--cluster", "x\(getpid())", "--lease-ttl-ms", "1000",
                         "--advertise-replication", toReplication.address]
            nodes.append(try ClusterNode(name: name, role: .member, in: dir, replication: syncReplication, extra: flags,
                                         replicationPort: replicationPort))
        }
        let old = try await awaitPrimary(nodes, timeout: 30)
        let acks = AckLog()
        let setupDeadline = monotonicClockSeconds() + 30
        var setUpDone = false
        while !setUpDone, monotonicClockSeconds() < setupDeadline {
            let c = try client(old.clientAddress)
            setUpDone = (try? await ClusterBook.setUp(c, acks: acks, node: old.clientAddress)) != nil
            await c.close()
        }
        try #require(setUpDone, "the accounts could not be created:\n\(tail(old.log))")

        // Load on the old primary only (raw connection: no redirect), through the
        // partition and after it.
        let oldAddress = old.clientAddress
        let oldLoad = ProbeLoad(port: old.clientPort, address: oldAddress, acks: acks, idBase: 81 << 40)
        defer { oldLoad.stop() }
        try await Task.sleep(for: .seconds(1))
        let oldProxies = try #require(proxies[old.name])
        oldProxies.etcd.blackhole()
        oldProxies.replication.blackhole()
        let partitionedAt = wallClockSeconds()
        let successor = try await awaitPrimary(nodes.filter { $0 !== old }, timeout: 30)
        let stopNew = LoadStop()
        let newAddress = successor.clientAddress
        let newLoad = Task { try await pinnedLoad(newAddress, acks: acks, stop: stopNew, seed: 82) }
        try await Task.sleep(for: .seconds(2))

        let byOld = acks.entries.filter { $0.node == oldAddress && $0.ackedAt > partitionedAt }.map(\.ackedAt)
        let firstNew = acks.entries.first { $0.node == newAddress }?.ackedAt
        let lastOld = byOld.max() ?? partitionedAt
        let beforePartition = acks.entries.filter { $0.node == oldAddress && $0.ackedAt <= partitionedAt }.count
        #expect(beforePartition > 0, "the raw load on the old primary got nothing acknowledged before the partition")
        progressLine("partition: old primary acknowledged \(beforePartition) before and \(byOld.count) after the partition, the last "
            + "\(Int((lastOld - partitionedAt) * 1000)) ms in; the new primary's first after "
            + "\(Int(((firstNew ?? partitionedAt) - partitionedAt) * 1000)) ms")
        #expect(firstNew != nil, "the new primary acknowledged nothing")
        #expect(lastOld - partitionedAt < 1.0, "the old primary acknowledged beyond its 1 s lease")
        if let firstNew { #expect(lastOld < firstNew, "two primaries acknowledged at the same time") }

        oldProxies.etcd.heal()
        oldProxies.replication.heal()
        let deadline = monotonicClockSeconds() + 20
        var rejoined = false
        while !rejoined, monotonicClockSeconds() < deadline {
            if let status = try? await old.status(), jsonString("role", in: status) == "follower" { rejoined = true }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(rejoined, "\(old.name) did not become a follower:\n\(tail(old.log))")
        oldLoad.stop()
        stopNew.set()
        _ = try await newLoad.value

        let followers = nodes.filter { $0 !== successor }
        try await syncPoint(primary: successor, followers: followers, acks: acks, id: 1 << 50)
        for node in nodes {
            let c = try client(node.clientAddress, timeout: .seconds(30))
            let problems = await acks.checkEveryAckedTransferPresent(on: c)
            await c.close()
            #expect(problems.isEmpty, "\(node.name): \(problems.prefix(10))")
        }
        expectSameDigests(try stopAndDigest([successor] + followers))
    }
}

/// Mixed load through a `KaminoClient` given one node's address (errors are ignored),
/// until `stop`. The client follows `not_primary`, so use it only on the primary.
func pinnedLoad(_ address: String, acks: AckLog, stop: LoadStop, seed: UInt64) async throws {
    let c = try KaminoClient(addresses: [address], options: KaminoClientOptions(requestTimeout: .seconds(3)))
    var load = MixedLoad(client: c, acks: acks, node: address, idBase: UInt128(seed) << 40, seed: seed)
    while !stop.isSet {
        if await load.round() == 0 { try? await Task.sleep(for: .milliseconds(50)) }
    }
    await c.close()
}
