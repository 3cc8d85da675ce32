import LedgerClient
import LedgerCore
import Testing

/// Timeouts, retries, the circuit breaker, failover and corrupt replies.
@Suite struct FailureTests {
    @Test func timeoutFires() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        server.state.setBehavior(.silent)
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(timeout: .milliseconds(200), retry: .none))
        let start = ContinuousClock.now
        #expect(await Fixtures.errorCode { try await client.lookupAccounts([1]) } == .timeout)
        #expect(ContinuousClock.now - start < .seconds(3))
        await client.close()
    }

    @Test func createIsRetriedAfterTheConnectionDrops() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())
        _ = try await client.createAccounts([Fixtures.account(1), Fixtures.account(2)])

        server.state.setBehavior(.dropAfterExecuting(count: 1))
        let results = try await client.createTransfers([Fixtures.transfer(7, from: 1, to: 2)])
        // The first attempt was applied before the drop: the retry answers `exists`.
        #expect(results.count == 1)
        #expect(results.allSatisfy { $0.status == .created || $0.status == .exists })
        #expect(server.state.requests(.createTransfers) == 2)
        #expect(try await client.lookupAccounts([2]).first?.creditsPosted == 10)
        await client.close()
    }

    @Test func circuitBreakerOpensAndRecoversHalfOpen() async throws {
        let port = try await FakeServer.deadPort()
        // Opening: a cool-down far longer than the test, so no timing can reopen it early.
        let opening = try KaminoClient(
            addresses: ["127.0.0.1:\(port)"],
            options: Fixtures.options(
                retry: .none, breaker: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .seconds(600))))
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .connectionFailed)
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .connectionFailed)
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .circuitOpen)

        // Recovering: a short cool-down; once it has passed, the half-open probe connects
        // to the server (now up) and the circuit closes.
        let recovering = try KaminoClient(
            addresses: ["127.0.0.1:\(port)"],
            options: Fixtures.options(
                retry: .none, breaker: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .milliseconds(300))))
        #expect(await Fixtures.errorCode { try await recovering.lookupAccounts([1]) } == .connectionFailed)
        #expect(await Fixtures.errorCode { try await recovering.lookupAccounts([1]) } == .connectionFailed)
        let server = try await FakeServer.start(port: port)
        defer { Task { await server.stop() } }
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .circuitOpen)  // still open
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await recovering.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(try await recovering.lookupAccounts([1]).count == 1)
        await opening.close()
        await recovering.close()
    }

    @Test func failsOverToTheNextAddress() async throws {
        let dead = try await FakeServer.deadPort()
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: ["127.0.0.1:\(dead)", server.address], options: Fixtures.options())
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(server.state.requests(.createAccounts) == 1)
        await client.close()
    }

    @Test func corruptReplyFailsTheRequestWithoutCrashing() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        server.state.setBehavior(.corrupt)
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options(retry: .none))
        #expect(await Fixtures.errorCode { try await client.createAccounts([Fixtures.account(1)]) } == .invalidReply)
        // The bad connection was dropped; a new one works.
        server.state.setBehavior(.normal)
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        await client.close()
    }
}
