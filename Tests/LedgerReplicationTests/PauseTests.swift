import Glibc
import KaminoTestSupport
import LedgerClient
import LedgerCore
import LedgerWire
import Testing

extension ClusterTests {
    /// Sync (quorum 1), three etcd members (lease 1 s), `KaminoClient` load: SIGSTOP the
    /// primary for longer than its lease with a create waiting in its socket, let another
    /// node take over, SIGCONT. The old primary must not acknowledge that create (its
    /// lease deadline passed), must rejoin as a follower, and nothing acknowledged is
    /// lost; the digests end equal.
    @Test(.timeLimit(.minutes(3)))
    func pausedPrimaryPastItsLeaseNeverAcknowledgesAndRejoins() async throws {
        let etcd: EtcdTestServer
        do {
            etcd = try EtcdTestServer.start()
        } catch {
            progressLine("skipping pausedPrimaryPastItsLeaseNeverAcknowledgesAndRejoins: \(error)")
            return
        }
        defer { etcd.stop() }
        let dir = try ClusterDirectory("pause")
        var nodes: [ClusterNode] = []
        defer { tearDown(nodes, dir) }
        let etcdFlags = ["--etcd", etcd.endpoint, "--cluster", "p\(getpid())", "--lease-ttl-ms", "1000"]
        for name in ["a", "b", "c"] {
            nodes.append(try ClusterNode(name: name, role: .member, in: dir, replication: syncReplication, extra: etcdFlags))
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

        let stop = LoadStop()
        let addresses = nodes.map(\.clientAddress)
        let load = Task { try await failoverLoad(addresses, acks: acks, stop: stop) }
        try await Task.sleep(for: .seconds(1))
        let probe = try #require(WireTestClient(port: old.clientPort, timeoutSeconds: 20))
        old.pause()
        let pausedAt = monotonicClockSeconds()
        let late = Transfer(id: 9 << 40, debitAccountId: ClusterBook.bank, creditAccountId: ClusterBook.customer(3),
                            amount: 1, ledger: ClusterBook.ledger, code: 5)
        let sentId = probe.send(.createTransfers([late]))
        let others = nodes.filter { $0 !== old }
        let successor = try await awaitPrimary(others, timeout: 30)
        try await Task.sleep(for: .seconds(0.5))
        old.resume()
        progressLine("paused for \(Int((monotonicClockSeconds() - pausedAt) * 1000)) ms; \(successor.name) took over")
        let answer = probe.receive()
        progressLine("paused primary answered the create sent during the pause with: \(String(describing: answer))")
        switch answer {
        case .reply(let id, .createTransfers(let results), _)? where id == sentId:
            // SIGSTOP takes effect asynchronously: the create may have been executed, and
            // acknowledged through the sync quorum, just before the process stopped. Then it
            // was acknowledged while this node held its lease, and it must survive the
            // failover; what must never happen is an acknowledgement that is then lost.
            if results.map(\.status).contains(.created) {
                _ = acks.recordTransfers([late], results: results, node: old.name)
                progressLine("the create was acknowledged before the stop took effect; it must be on \(successor.name)")
            }
        case .errorReply(let e)?:
            #expect(e.rawCode == 16 || e.rawCode == 17, "error \(e.rawCode): \(e.message)")
        case nil:
            break  // The connection closed: nothing acknowledged.
        case let other?:
            Issue.record("unexpected answer \(other)")
        }
        // The old primary rejoins as a follower of the successor.
        let deadline = monotonicClockSeconds() + 20
        var rejoined = false
        while !rejoined, monotonicClockSeconds() < deadline {
            if let status = try? await old.status(), jsonString("role", in: status) == "follower" { rejoined = true }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(rejoined, "\(old.name) did not become a follower:\n\(tail(old.log))")
        try await Task.sleep(for: .seconds(1))
        stop.set()
        _ = try await load.value

        try await syncPoint(primary: successor, followers: nodes.filter { $0 !== successor }, acks: acks, id: 1 << 50)
        for node in nodes {
            let c = try client(node.clientAddress, timeout: .seconds(30))
            let problems = await acks.checkEveryAckedTransferPresent(on: c)
            await c.close()
            #expect(problems.isEmpty, "\(node.name): \(problems.prefix(10))")
        }
        expectSameDigests(try stopAndDigest([successor] + nodes.filter { $0 !== successor }))
    }
}
