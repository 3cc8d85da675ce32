import LedgerClient
import LedgerCore
import Testing

/// Every operation, through the client, against the fake server.
@Suite struct RoundTripTests {
    @Test func everyOperationRoundTrips() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options())

        let accounts = try await client.createAccounts([
            Fixtures.account(1, flags: .history), Fixtures.account(2), Fixtures.account(1, flags: .history),
        ])
        #expect(accounts.map(\.status) == [.created, .created, .exists])

        let transfers = try await client.createTransfers([
            Fixtures.transfer(100, from: 1, to: 2, amount: 30), Fixtures.transfer(101, from: 2, to: 1, amount: 5),
            Fixtures.transfer(102, from: 1, to: 1),
        ])
        #expect(transfers.map(\.status) == [.created, .created, .accountsMustBeDifferent])

        let found = try await client.lookupAccounts([2, 99, 1])
        #expect(found.map(\.id) == [2, 1])
        #expect(found.first?.creditsPosted == 30)
        #expect(try await client.lookupTransfers([101, 100, 555]).map(\.id) == [101, 100])

        let filter = AccountFilter(accountId: 1, limit: 10)
        #expect(try await client.getAccountTransfers(filter).map(\.id) == [100, 101])
        let balances = try await client.getAccountBalances(filter)
        #expect(balances.map(\.debitsPosted) == [30, 30])
        #expect(balances.map(\.creditsPosted) == [0, 5])

        #expect(try await client.queryAccounts(QueryFilter(ledger: 700, limit: 10)).map(\.id) == [1, 2])
        #expect(try await client.queryTransfers(QueryFilter(ledger: 700, limit: 10, flags: .reversed)).map(\.id) == [101, 100])

        #expect(try await client.createTransfers([]).isEmpty)
        await client.close()
        #expect(await Fixtures.errorCode { try await client.lookupAccounts([1]) } == .closed)
    }

    @Test func badAddressesAreRejected() {
        #expect(throws: KaminoClientError.self) { try KaminoClient(addresses: [] as [ServerAddress]) }
        #expect(throws: KaminoClientError.self) { try KaminoClient(addresses: ["localhost"]) }
        #expect(throws: KaminoClientError.self) { try KaminoClient(addresses: ["127.0.0.1:notaport"]) }
    }
}
