import KaminoEtcd
import KaminoTestSupport
import NIOPosix
import Testing

/// `EtcdClient` against a real etcd (one per test, on ephemeral loopback ports).
@Suite struct EtcdClientTests {
    /// A client for `server`. The deadline is long (10 s) because these tests check what
    /// etcd answers, not how fast: each put waits for etcd's fsync, which took over 2 s while
    /// the server suites ran beside this one; the timeout test sets its own short deadline.
    private func client(_ server: EtcdTestServer, timeout: Duration = .seconds(10)) throws -> EtcdClient {
        try EtcdClient(endpoints: [server.endpoint], eventLoopGroup: MultiThreadedEventLoopGroup.singleton, requestTimeout: timeout)
    }

    @Test func putGetDeleteRoundTripsBytes() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let etcd = try client(server)
        #expect(try await etcd.get(key: "/kamino/t/missing") == nil)
        let value: [UInt8] = [0, 1, 0xFF, 0x80, 10, 13]
        let revision = try await etcd.put(key: "/kamino/t/k", value: value)
        let kv = try #require(try await etcd.get(key: "/kamino/t/k"))
        #expect(kv == KeyValue(key: "/kamino/t/k", value: value, createRevision: revision, modRevision: revision, version: 1, lease: 0))
        let second = try await etcd.put(key: "/kamino/t/k", value: [])
        #expect(second > revision)
        let updated = try #require(try await etcd.get(key: "/kamino/t/k"))
        #expect(updated.value == [] && updated.createRevision == revision && updated.modRevision == second && updated.version == 2)
        #expect(try await etcd.delete(key: "/kamino/t/k"))
        #expect(try await etcd.delete(key: "/kamino/t/k") == false)
        #expect(try await etcd.get(key: "/kamino/t/k") == nil)
    }

    @Test func concurrentCallsOnOneClientGetTheirOwnReplies() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let etcd = try client(server)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask { try await etcd.put(key: "/kamino/t/\(i)", value: Array("v\(i)".utf8)) }
            }
            try await group.waitForAll()
        }
        // Pipelined on one connection: each reply must be paired with its own request.
        try await withThrowingTaskGroup(of: (Int, KeyValue?).self) { group in
            for i in 0..<40 {
                group.addTask { (i, try await etcd.get(key: "/kamino/t/\(i)")) }
            }
            for try await (i, kv) in group {
                #expect(kv?.key == "/kamino/t/\(i)" && kv?.value == Array("v\(i)".utf8))
            }
        }
        #expect(try await etcd.getPrefix("/kamino/t/").count == 40)
    }

    @Test func leaseKeepsKeyAliveAndItsExpiryDeletesIt() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let etcd = try client(server)
        // A 3 s TTL, kept alive every 300 ms: a keep-alive may wait over a second for etcd
        // while other suites load the machine (with a 1 s TTL the lease once expired then).
        let lease = try await etcd.grantLease(ttlSeconds: 3)
        #expect(lease.ttl == 3, "etcd changed the 3 s TTL to \(lease.ttl) s")
        try await etcd.put(key: "/kamino/t/leader", value: Array("node-a".utf8), lease: lease.id)
        #expect(try await etcd.get(key: "/kamino/t/leader")?.lease == lease.id)
        // Kept alive for 4 s, longer than the TTL: the key stays.
        let clock = ContinuousClock()
        let keptUntil = clock.now + .seconds(4)
        while clock.now < keptUntil {
            #expect(try await etcd.keepAlive(lease: lease.id) == 3)
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(try await etcd.get(key: "/kamino/t/leader") != nil)
        // No more keep-alives: gone after the TTL, within 5 s.
        let lastKeepAlive = clock.now
        _ = try await etcd.keepAlive(lease: lease.id)
        while try await etcd.get(key: "/kamino/t/leader") != nil {
            if clock.now - lastKeepAlive > .seconds(8) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(clock.now - lastKeepAlive < .seconds(5))
        await #expect(throws: EtcdError.self) { _ = try await etcd.keepAlive(lease: lease.id) }
        do {
            _ = try await etcd.keepAlive(lease: lease.id)
        } catch {
            #expect(error.code == .leaseExpired)
        }
        do {
            try await etcd.put(key: "/kamino/t/leader", value: [1], lease: lease.id)
            Issue.record("put under an expired lease succeeded")
        } catch {
            #expect(error.code == .leaseExpired)
        }
    }

    @Test func revokeDeletesTheLeasesKeysAndIsIdempotent() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let etcd = try client(server)
        let lease = try await etcd.grantLease(ttlSeconds: 30)
        #expect(lease.ttl == 30)
        try await etcd.put(key: "/kamino/t/a", value: [1], lease: lease.id)
        try await etcd.revoke(lease: lease.id)
        #expect(try await etcd.get(key: "/kamino/t/a") == nil)
        try await etcd.revoke(lease: lease.id)
        await #expect(throws: EtcdError.self) { _ = try await etcd.grantLease(ttlSeconds: 0) }
    }

    @Test func createIfAbsentRaceHasExactlyOneWinner() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        for round in 0..<5 {
            let key = "/kamino/t/leader-\(round)"
            let a = try client(server)
            let b = try client(server)
            async let first = a.createIfAbsent(key: key, value: Array("a".utf8))
            async let second = b.createIfAbsent(key: key, value: Array("b".utf8))
            let results = try await [first, second]
            let winners = results.filter(\.created)
            try #require(winners.count == 1)
            let loser = try #require(results.first { !$0.created })
            let current = try #require(loser.current)
            #expect(current.createRevision == winners[0].revision)
            #expect(current.value == (results[0].created ? Array("a".utf8) : Array("b".utf8)))
            #expect(try await a.get(key: key) == current)
            await a.shutdown()
            await b.shutdown()
        }
    }

    @Test func ownerWritesFailOnceTheKeyWasRecreated() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let old = try client(server)
        let new = try client(server)
        let key = "/kamino/t/leader"
        let mine = try await old.createIfAbsent(key: key, value: Array("old".utf8))
        try #require(mine.created)
        #expect(try await old.putIfOwner(key: key, value: Array("old-2".utf8), expectedCreateRevision: mine.revision))
        #expect(try await old.get(key: key)?.value == Array("old-2".utf8))
        // The key is lost (say, the lease expired) and another node takes it.
        #expect(try await new.delete(key: key))
        let theirs = try await new.createIfAbsent(key: key, value: Array("new".utf8))
        try #require(theirs.created)
        #expect(try await old.putIfOwner(key: key, value: Array("old-3".utf8), expectedCreateRevision: mine.revision) == false)
        #expect(try await old.deleteIfOwner(key: key, expectedCreateRevision: mine.revision) == false)
        let current = try #require(try await new.get(key: key))
        #expect(current.value == Array("new".utf8) && current.createRevision == theirs.revision)
        #expect(try await new.deleteIfOwner(key: key, expectedCreateRevision: theirs.revision))
        #expect(try await new.get(key: key) == nil)
        #expect(try await old.putIfOwner(key: key, value: [1], expectedCreateRevision: theirs.revision) == false)
        #expect(try await new.get(key: key) == nil)
    }

    @Test func getPrefixReturnsExactlyThePrefixInKeyOrder() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let etcd = try client(server)
        for key in ["/kamino/c1/members/b", "/kamino/c1/members/a", "/kamino/c1/members/c", "/kamino/c1/leader", "/kamino/c1/members",
            "/kamino/c1/membersx", "/kamino/c2/members/a",
        ] {
            try await etcd.put(key: key, value: Array(key.utf8))
        }
        let members = try await etcd.getPrefix("/kamino/c1/members/")
        #expect(members.map(\.key) == ["/kamino/c1/members/a", "/kamino/c1/members/b", "/kamino/c1/members/c"])
        #expect(members.allSatisfy { $0.value == Array($0.key.utf8) })
        #expect(try await etcd.getPrefix("/kamino/c1/").count == 6)
        #expect(try await etcd.getPrefix("/kamino/none/").isEmpty)
        #expect(try await etcd.getPrefix("").count == 7)
    }

    @Test func requestsToAFrozenEtcdFailWithTimeoutWithinTheDeadline() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        let timeout = Duration.milliseconds(500)
        try await client(server).put(key: "/kamino/t/k", value: [1])
        let etcd = try client(server, timeout: timeout)
        // Open the connection (retrying: a loaded machine may miss the short deadline).
        var warmedUp = false
        for _ in 0..<10 where !warmedUp { warmedUp = (try? await etcd.get(key: "/kamino/t/k")) != nil }
        try #require(warmedUp)
        server.pause()
        let clock = ContinuousClock()
        // Once on the open connection, once on a new one (the kernel still accepts it).
        for _ in 0..<2 {
            let start = clock.now
            do {
                _ = try await etcd.get(key: "/kamino/t/k")
                Issue.record("a request to a frozen etcd succeeded")
            } catch {
                #expect(error.code == .timeout, "\(error)")
            }
            let elapsed = clock.now - start
            // Not before the deadline, and bounded by it rather than by the client's 10 s
            // default (a loaded machine answered after up to 1.4 s).
            #expect(elapsed >= timeout - .milliseconds(50) && elapsed < timeout + .seconds(3), "took \(elapsed)")
        }
        server.resume()
        #expect(try await etcd.get(key: "/kamino/t/k")?.value == [1])
    }

    @Test func failsOverToTheNextEndpoint() async throws {
        let server = try EtcdTestServer.start()
        defer { server.stop() }
        // Port 1 on loopback: nothing listens, the connection is refused.
        let etcd = try EtcdClient(
            endpoints: ["127.0.0.1:1", "http://" + server.endpoint], eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            requestTimeout: .seconds(10))
        try await etcd.put(key: "/kamino/t/k", value: [7])
        #expect(try await etcd.get(key: "/kamino/t/k")?.value == [7])

        let dead = try EtcdClient(
            endpoints: ["127.0.0.1:1", "127.0.0.1:1"], eventLoopGroup: MultiThreadedEventLoopGroup.singleton, requestTimeout: .seconds(2))
        do {
            _ = try await dead.get(key: "/kamino/t/k")
            Issue.record("a request with no reachable endpoint succeeded")
        } catch {
            #expect(error.code == .connectionFailed, "\(error)")
        }
        #expect(throws: EtcdError.self) {
            _ = try EtcdClient(endpoints: ["no-port"], eventLoopGroup: MultiThreadedEventLoopGroup.singleton, requestTimeout: .seconds(1))
        }
    }
}
