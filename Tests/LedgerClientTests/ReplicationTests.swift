import LedgerClient
import LedgerCore
import Testing

/// A client of a replicated cluster: `not_primary` redirects, failover through the
/// addresses, follower reads bounded by `state_lsn`, and the admin calls.
@Suite(.timeLimit(.minutes(1))) struct ReplicationTests {
    @Test func notPrimaryRedirectsTheWriteToTheNamedPrimary() async throws {
        let primary = try await FakeServer.start()
        let follower = try await FakeServer.start()
        defer { Task { await primary.stop(); await follower.stop() } }
        follower.state.setBehavior(.follower(primary: primary.address, stateLSN: 0))
        // The client knows only the follower; its answer names the primary.
        let client = try KaminoClient(addresses: [follower.address], options: Fixtures.options())
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(follower.state.requests(.createAccounts) == 1)
        #expect(primary.state.requests(.createAccounts) == 1)
        // Later writes go straight to the primary.
        #expect(try await client.createAccounts([Fixtures.account(2)]).map(\.status) == [.created])
        #expect(follower.state.requests(.createAccounts) == 1)
        #expect(primary.state.requests(.createAccounts) == 2)
        #expect(client.highestSeenLSN == 2)
        await client.close()
    }

    @Test func notPrimaryWithoutAnAddressTriesTheNextOne() async throws {
        let primary = try await FakeServer.start()
        let follower = try await FakeServer.start()
        defer { Task { await primary.stop(); await follower.stop() } }
        follower.state.setBehavior(.follower(primary: nil, stateLSN: 0))
        let client = try KaminoClient(addresses: [follower.address, primary.address], options: Fixtures.options())
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(follower.state.requests(.createAccounts) == 1)
        #expect(primary.state.requests(.createAccounts) == 1)
        await client.close()
    }

    @Test func unreachablePrimaryFailsOverThroughAFollower() async throws {
        let dead = try FakeServer.deadPort()
        let newPrimary = try await FakeServer.start()
        let follower = try await FakeServer.start()
        defer { Task { await newPrimary.stop(); await follower.stop() } }
        follower.state.setBehavior(.follower(primary: newPrimary.address, stateLSN: 0))
        // The old primary is gone; the follower (next address) names the new primary,
        // which is not in the client's list.
        let client = try KaminoClient(addresses: ["127.0.0.1:\(dead.port)", follower.address], options: Fixtures.options())
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(newPrimary.state.requests(.createAccounts) == 1)
        #expect(try await client.lookupAccounts([1]).count == 1)
        await client.close()
    }

    @Test func staleFollowerReadIsResentToThePrimary() async throws {
        let primary = try await FakeServer.start()
        let follower = try await FakeServer.start()
        defer { Task { await primary.stop(); await follower.stop() } }
        follower.state.setBehavior(.follower(primary: primary.address, stateLSN: 0))
        var options = Fixtures.options()
        options.readPreference = .followers(maxLagLSN: 1)
        let client = try KaminoClient(addresses: [primary.address, follower.address], options: options)
        for id in 1...3 { _ = try await client.createAccounts([Fixtures.account(UInt128(id))]) }
        #expect(client.highestSeenLSN == 3)

        // The follower answers at LSN 0, 3 behind (bound 1): the primary answers instead.
        #expect(try await client.lookupAccounts([1, 2, 3]).count == 3)
        #expect(follower.state.requests(.lookupAccounts) == 1)
        #expect(primary.state.requests(.lookupAccounts) == 1)

        // At LSN 2 (1 behind) the follower's answer is taken (its own, empty, ledger).
        follower.state.setBehavior(.follower(primary: primary.address, stateLSN: 2))
        #expect(try await client.lookupAccounts([1]).isEmpty)
        #expect(follower.state.requests(.lookupAccounts) == 2)
        #expect(primary.state.requests(.lookupAccounts) == 1)
        await client.close()
    }

    @Test func replicationTimeoutIsResentUnlessTheCreateIsLinked() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())
        // Applied, then answered replication_timeout: the resend answers `exists`.
        server.state.setBehavior(.executeThenError(code: ServerErrorCode.replicationTimeout.rawValue))
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.exists])
        #expect(server.state.requests(.createAccounts) == 2)
        // A linked chain is not resent: its outcome is unknown.
        server.state.setBehavior(.executeThenError(code: ServerErrorCode.replicationTimeout.rawValue))
        let chain = [Fixtures.account(2, flags: .linked), Fixtures.account(3)]
        #expect(await Fixtures.errorCode { try await client.createAccounts(chain) } == .outcomeUnknown)
        #expect(server.state.requests(.createAccounts) == 3)
        await client.close()
    }

    @Test func statusAndPromoteGoToTheAddressGiven() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())
        #expect(try await client.status(at: ServerAddress(server.address)) == #"{"role":"standalone","epoch":0}"#)
        #expect(try await client.promote(at: ServerAddress(server.address)) == #"{"role":"primary","epoch":1}"#)
        let dead = try FakeServer.deadPort()
        #expect(await Fixtures.errorCode { try await client.status(at: ServerAddress(host: "127.0.0.1", port: dead.port)) } == .connectionFailed)
        await client.close()
    }
}
