import LedgerClient
import LedgerCore
import Testing

/// Retries, the circuit breaker, failover and corrupt replies. (Request timeouts:
/// `RequestTimeoutTests`, `WallClockTimeoutTests`.)
@Suite(.timeLimit(.minutes(1))) struct FailureTests {
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
        let reserved = try FakeServer.deadPort()
        let port = reserved.port
        // Both clients measure their cool-down on a manual clock: no wall time passes.
        let time = ManualClock()
        func options(coolDown: Duration) -> KaminoClientOptions {
            var options = Fixtures.options(
                retry: .none, breaker: CircuitBreakerPolicy(failureThreshold: 2, coolDown: coolDown))
            options.clock = time.clock
            return options
        }
        let opening = try KaminoClient(addresses: ["127.0.0.1:\(port)"], options: options(coolDown: .seconds(600)))
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .connectionFailed)
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .connectionFailed)
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .circuitOpen)

        // Recovering: a short cool-down; once it has passed, the half-open probe connects
        // to the server (now up) and the circuit closes.
        let recovering = try KaminoClient(addresses: ["127.0.0.1:\(port)"], options: options(coolDown: .milliseconds(300)))
        #expect(await Fixtures.errorCode { try await recovering.lookupAccounts([1]) } == .connectionFailed)
        #expect(await Fixtures.errorCode { try await recovering.lookupAccounts([1]) } == .connectionFailed)
        let server = try await FakeServer.start(on: reserved)
        defer { Task { await server.stop() } }
        time.advance(by: .milliseconds(299))
        #expect(await Fixtures.errorCode { try await recovering.lookupAccounts([1]) } == .circuitOpen)  // not yet
        time.advance(by: .milliseconds(1))
        #expect(await Fixtures.errorCode { try await opening.lookupAccounts([1]) } == .circuitOpen)  // still open
        #expect(try await recovering.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(try await recovering.lookupAccounts([1]).count == 1)
        await opening.close()
        await recovering.close()
    }

    @Test func retryBackoffWaitsOnTheInjectedClock() async throws {
        let reserved = try FakeServer.deadPort()
        let port = reserved.port
        let time = ManualClock()
        var options = Fixtures.options(
            retry: RetryPolicy(maxAttempts: 2, initialBackoff: .seconds(60), maxBackoff: .seconds(60)))
        options.clock = time.clock
        let client = try KaminoClient(addresses: ["127.0.0.1:\(port)"], options: options)
        let request = Task { await Fixtures.errorCode { try await client.lookupAccounts([1]) } }
        // The first attempt fails to connect; the retry waits 30-60 s of the manual clock
        // (if it slept on another clock, this would wait until the time limit fails it).
        await time.waitForSleepers(1)
        let server = try await FakeServer.start(on: reserved)
        defer { Task { await server.stop() } }
        time.advance(by: .seconds(60))
        #expect(await request.value == nil, "the retry after the backoff reaches the server")
        #expect(server.state.requests(.lookupAccounts) == 1)
        await client.close()
    }

    @Test func failsOverToTheNextAddress() async throws {
        let dead = try FakeServer.deadPort()
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: ["127.0.0.1:\(dead.port)", server.address], options: Fixtures.options())
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

    @Test func aLaterAttemptThatWasNotExecutedKeepsTheEarlierUnknownOutcome() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(
            addresses: [server.address],
            options: Fixtures.options(
                timeout: .seconds(1), retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(20))))
        // (In FailureTests, which run alone: the retry must be answered within its 1 s.)
        // The first attempt reaches the server and times out: it may have been applied.
        // The retry is answered `busy` (not executed), but the call's outcome stays unknown.
        server.state.setBehavior(.silent)
        let call = Task { await Fixtures.failure { () async throws(KaminoClientError) in try await client.createAccounts([Fixtures.account(1)]) } }
        await server.state.waitForRequests(.createAccounts, count: 1)
        server.state.setBehavior(.holdUntilReleased(firstErrorCode: ServerErrorCode.busy.rawValue))
        await server.state.waitForRequests(.createAccounts, count: 2)
        server.state.releaseHeld()
        let error = await call.value
        #expect(error?.code == .serverError(.busy))
        #expect(error?.mayHaveExecuted == true, "\(String(describing: error))")
        await client.close()
    }
}
