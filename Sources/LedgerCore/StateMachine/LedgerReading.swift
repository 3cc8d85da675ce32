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
}

extension Ledger: LedgerReading {}
extension ShardedLedger: LedgerReading {}
