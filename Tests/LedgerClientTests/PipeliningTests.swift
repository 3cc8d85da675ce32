import LedgerClient
import LedgerCore
import Testing

/// Several requests in flight on one connection, answered out of order.
@Suite struct PipeliningTests {
    @Test func outOfOrderRepliesReachTheirCallers() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())
        _ = try await client.createAccounts((1...4).map { Account(id: UInt128($0), ledger: 700, code: UInt16($0)) })

        server.state.setBehavior(.holdAndReverse(count: 4))
        // Four queries are sent before any reply: the server answers only when it holds
        // all four, in reverse order.
        let codes = try await withThrowingTaskGroup(of: (UInt16, [UInt16]).self) { group in
            for code in UInt16(1)...4 {
                group.addTask { (code, try await client.queryAccounts(QueryFilter(code: code, limit: 10)).map(\.code)) }
            }
            var all: [UInt16: [UInt16]] = [:]
            for try await (code, found) in group { all[code] = found }
            return all
        }
        #expect(codes == [1: [1], 2: [2], 3: [3], 4: [4]])
        #expect(server.state.requests(.queryAccounts) == 4)
        await client.close()
    }
}
