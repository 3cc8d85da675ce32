import LedgerClient
import LedgerCore
import Testing

/// Linked chains after an unknown outcome. (A late error reply beside a concurrent
/// request: `RequestTimeoutTests`; failover after a timeout: `WallClockTimeoutTests`.)
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
}
