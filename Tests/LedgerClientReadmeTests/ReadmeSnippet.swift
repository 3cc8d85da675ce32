import LedgerClient

/// Opens two accounts, moves 250 from the first to the second, and returns the second
/// account as the server now has it.
func payExample(server: String) async throws -> Account? {
    let client = try KaminoClient(addresses: [server])  // or [ServerAddress(host:port:)]
    let ids = IDGenerator.shared  // time-ordered u128 ids, as TigerBeetle's id()
    let alice = Account(id: ids.next(), ledger: 700, code: 10)
    let bob = Account(id: ids.next(), ledger: 700, code: 10, flags: .history)
    for result in try await client.createAccounts([alice, bob]) where result.status != .created {
        print("account not created: \(result.status)")
    }

    let payment = Transfer(
        id: ids.next(), debitAccountId: alice.id, creditAccountId: bob.id, amount: 250, ledger: 700, code: 1)
    do {
        let results = try await client.createTransfers([payment])
        print("payment: \(results[0].status)")  // created (or, say, exceedsCredits)
    } catch where error.mayHaveExecuted {
        // A timeout or a lost connection after every retry: the payment may be in. Resending
        // it under the same id is safe: it answers `exists` if it was applied.
        print("payment outcome unknown: \(error.message)")
    } catch {
        if case .serverError(let code) = error.code { print("server error \(code)") }  // e.g. busy
        throw error
    }

    let found = try await client.lookupAccounts([bob.id])
    await client.close()
    return found.first
}
