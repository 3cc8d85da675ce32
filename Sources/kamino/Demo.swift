import ArgumentParser
import KaminoREPL
import LedgerCore

/// `kamino demo`: runs the ledger core in-process and prints what happened.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create accounts, move money (single- and two-phase) and print balances.")

    func run() throws {
        let ledger = Ledger()
        var clock: UInt64 = 1_000_000_000
        func tick(_ n: Int) -> UInt64 {
            clock = ledger.nextBatchTimestamp(wallClock: clock + 1_000, count: n)
            return clock
        }
        let accounts = [
            Account(id: 1, ledger: 986, code: 1, flags: .creditsMustNotExceedDebits),  // bank cash
            Account(id: 2, ledger: 986, code: 2, flags: [.debitsMustNotExceedCredits, .history]),  // Alice
            Account(id: 3, ledger: 986, code: 2, flags: .debitsMustNotExceedCredits),  // Bob
        ]
        print("create_accounts:", try ledger.createAccounts(accounts, timestamp: tick(3)).map { ReplFormatter.snakeCase("\($0.status)") })

        let transfers = [
            Transfer(id: 100, debitAccountId: 1, creditAccountId: 2, amount: 10_000, ledger: 986, code: 1),  // deposit
            Transfer(id: 101, debitAccountId: 2, creditAccountId: 3, amount: 2_500, ledger: 986, code: 2),  // PIX
            Transfer(id: 102, debitAccountId: 3, creditAccountId: 2, amount: 99_999, ledger: 986, code: 2),  // overdraft
            Transfer(id: 103, debitAccountId: 2, creditAccountId: 3, amount: 4_000, timeout: 60, ledger: 986, code: 3, flags: .pending),  // card hold
        ]
        print("create_transfers:", try ledger.createTransfers(transfers, timestamp: tick(4)).map { ReplFormatter.snakeCase("\($0.status)") })
        let post = Transfer(id: 104, amount: 3_000, pendingId: 103, flags: .postPendingTransfer)
        print("post pending 103 (3000 of 4000):", try ledger.createTransfers([post], timestamp: tick(1)).map { ReplFormatter.snakeCase("\($0.status)") })

        for a in ledger.lookupAccounts([1, 2, 3]) {
            let balance = Int128(a.creditsPosted) - Int128(a.debitsPosted)
            print("account \(a.id): debits_posted=\(a.debitsPosted) credits_posted=\(a.creditsPosted) "
                + "debits_pending=\(a.debitsPending) net=\(balance)")
        }
        print("digest: \(ledger.digest())")
    }
}
