import LedgerClient
import LedgerCore
import Testing

/// Concurrent calls merge into few requests and each caller gets its own results.
@Suite struct BatchingTests {
    @Test func concurrentCallersGetTheirOwnResults() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())
        _ = try await client.createAccounts([Fixtures.account(1), Fixtures.account(2)])

        let callers = 200
        // Caller i sends two transfers; for odd i the second one is invalid, so every
        // caller's expected results differ from its neighbours'.
        let results = try await withThrowingTaskGroup(of: (Int, [CreateTransferResult]).self) { group in
            for i in 0..<callers {
                group.addTask {
                    let base = UInt128(1000 + 2 * i)
                    let second = i % 2 == 0
                        ? Fixtures.transfer(base + 1, from: 2, to: 1, amount: UInt128(i + 1))
                        : Fixtures.transfer(base + 1, from: 1, to: 1)
                    return (i, try await client.createTransfers([Fixtures.transfer(base, from: 1, to: 2), second]))
                }
            }
            var all: [Int: [CreateTransferResult]] = [:]
            for try await (i, r) in group { all[i] = r }
            return all
        }

        #expect(results.count == callers)
        for (i, r) in results {
            #expect(r.map(\.status) == [.created, i % 2 == 0 ? .created : .accountsMustBeDifferent], "caller \(i)")
        }
        let requests = server.state.requests(.createTransfers)
        #expect(requests < callers / 4, "\(requests) requests for \(callers) calls")
        // Lookups merge too, and are matched by id.
        let lookups = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let id = UInt128(1000 + 2 * i)
                    return try await client.lookupTransfers([id, 5, id + 1]).map(\.id) == (i % 2 == 0 ? [id, id + 1] : [id])
                }
            }
            var ok = true
            for try await x in group { ok = ok && x }
            return ok
        }
        #expect(lookups)
        await client.close()
    }
}
