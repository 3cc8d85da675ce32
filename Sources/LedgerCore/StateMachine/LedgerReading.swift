/// The reads a ledger serves, serial or sharded (the server answers from either).
package protocol LedgerReading {
    var accountCount: Int { get }
    var transferCount: Int { get }
    func lookupAccounts(_ ids: [UInt128]) -> [Account]
    func lookupTransfers(_ ids: [UInt128]) -> [Transfer]
    func getAccountTransfers(_ filter: AccountFilter) -> [Transfer]
    func getAccountBalances(_ filter: AccountFilter) -> [AccountBalance]
    func queryAccounts(_ filter: QueryFilter) -> [Account]
    func queryTransfers(_ filter: QueryFilter) -> [Transfer]
    func digest() -> StateDigest
    /// The newest change timestamp an answer of these transfers depends on (`ReadFreshness`).
    func freshness(ofTransfers found: [Transfer]) -> UInt64
    /// The newest change timestamp an answer of these balances depends on.
    func freshness(ofBalances found: [AccountBalance]) -> UInt64
    /// The newest change timestamp an answer of these accounts depends on.
    func freshness(ofAccounts found: [Account]) -> UInt64
}

extension Ledger: LedgerReading {}
extension ShardedLedger: LedgerReading {}
