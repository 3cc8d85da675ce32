import LedgerClient
import LedgerCore
import Testing

/// End to end over TCP, a request timeout reaches the caller and fails over. The timer
/// is NIO's on a real event loop, so these wait on wall time (hundreds of milliseconds)
/// and scripts/test runs them serially; the handler's timeout rules are tested on
/// virtual time in `RequestTimeoutTests`.
@Suite(.timeLimit(.minutes(1))) struct WallClockTimeoutTests {
    @Test func timeoutReachesTheCaller() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        server.state.setBehavior(.silent)
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(timeout: .milliseconds(200), retry: .none))
        let start = ContinuousClock.now
        #expect(await Fixtures.errorCode { try await client.lookupAccounts([1]) } == .timeout)
        // The configured 200 ms, not the 5 s default: well under 5 s even on a loaded machine
        // (a parallel run of every suite next to release builds once took 3.57 s).
        #expect(ContinuousClock.now - start < .seconds(4.5))
        await client.close()
    }

    @Test func timeoutFailsOverFromASilentServer() async throws {
        let silent = try await FakeServer.start()
        let working = try await FakeServer.start()
        defer {
            Task {
                await silent.stop()
                await working.stop()
            }
        }
        silent.state.setBehavior(.silent)
        let client = try KaminoClient(
            addresses: [silent.address, working.address],
            options: Fixtures.options(timeout: .milliseconds(300)))
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(silent.state.requests(.createAccounts) == 1)
        #expect(working.state.requests(.createAccounts) == 1)
        await client.close()
    }
}
