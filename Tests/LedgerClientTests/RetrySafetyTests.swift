import LedgerClient
import LedgerCore
import Testing

/// Linked chains after an unknown outcome, late error replies, and dead connections.
@Suite struct RetrySafetyTests {
    @Test func linkedChainIsNotResentAfterAnUnknownOutcome() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())
        _ = try await client.createAccounts([Fixtures.account(1), Fixtures.account(2)])

        server.state.setBehavior(.dropAfterExecuting(count: 1))
        var first = Fixtures.transfer(7, from: 1, to: 2)
        first.flags = .linked
        let chain = [first, Fixtures.transfer(8, from: 1, to: 2)]
        #expect(await Fixtures.errorCode { try await client.createTransfers(chain) } == .outcomeUnknown)
        // Sent once, and applied: the caller must look it up rather than resend.
        #expect(server.state.requests(.createTransfers) == 1)
        #expect(try await client.lookupTransfers([7, 8]).map(\.id) == [7, 8])

        // Without linked events the same failure is retried transparently.
        server.state.setBehavior(.dropAfterExecuting(count: 1))
        let results = try await client.createTransfers([Fixtures.transfer(9, from: 1, to: 2)])
        #expect(results.allSatisfy { $0.status == .created || $0.status == .exists })
        #expect(server.state.requests(.createTransfers) == 3)
        await client.close()
    }

    @Test func lateErrorReplyDoesNotFailAConcurrentRequest() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(timeout: .milliseconds(600), retry: .none))
        _ = try await client.createAccounts([Fixtures.account(1)])

        server.state.setBehavior(.holdUntilReleased(firstErrorCode: 13))
        let timedOut = Task { await Fixtures.errorCode { try await client.lookupAccounts([1]) } }
        try await waitUntil { server.state.requests(.lookupAccounts) == 1 }
        try await Task.sleep(for: .milliseconds(300))
        let concurrent = Task { try await client.queryAccounts(QueryFilter(ledger: 700, limit: 10)).map(\.id) }
        try await waitUntil { server.state.requests(.queryAccounts) == 1 }
        #expect(await timedOut.value == .timeout)
        // The late error reply (shutting_down) to the timed-out request arrives first,
        // then the concurrent request's reply: it must still succeed.
        server.state.releaseHeld()
        #expect(try await concurrent.value == [1])
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

    /// Polls `condition` every 5 ms, for at most 5 s.
    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
