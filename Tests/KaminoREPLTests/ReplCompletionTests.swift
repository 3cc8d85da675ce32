import Testing

import KaminoREPL

@Suite("REPL Tab completion")
struct ReplCompletionTests {
    @Test("Operations at the start of the line", arguments: [
        ("", ReplParser.operations),
        ("cre", ["create_accounts", "create_transfers"]),
        ("  lookup_t", ["lookup_transfers"]),
        ("get_account_b", ["get_account_balances"]),
        ("he", ["help"]),
        ("zzz", []),
    ])
    func operations(line: String, expected: [String]) {
        #expect(ReplCompletion.candidates(forLine: line) == expected)
    }

    @Test("Fields of the operation, with their =", arguments: [
        ("create_transfers am", ["amount="]),
        ("create_transfers id=1 debit", ["debit_account_id="]),
        ("create_transfers id=1 user_data_", ["user_data_128=", "user_data_64=", "user_data_32="]),
        ("create_accounts id=1 ledger=700, le", ["ledger="]),
        ("create_accounts id=1,le", ["ledger="]),
        ("lookup_accounts ", ["id="]),
        ("get_account_balances acc", ["account_id="]),
        ("query_transfers account", []),
        ("create_accounts amount", []),
        ("bogus le", []),
    ])
    func fields(line: String, expected: [String]) {
        #expect(ReplCompletion.candidates(forLine: line) == expected)
    }

    @Test("Flag names after flags= and |, not the ones already given", arguments: [
        ("create_transfers id=1 flags=pe", ["pending"]),
        ("create_transfers id=1 flags=linked|po", ["post_pending_transfer"]),
        ("create_accounts id=1 flags=debits", ["debits_must_not_exceed_credits"]),
        ("get_account_transfers account_id=1 flags=debits|", ["credits", "reversed"]),
        ("query_accounts flags=", ["reversed"]),
        ("create_transfers id=1 amount=1", []),
        ("create_transfers id=1 ledger=", []),
    ])
    func flags(line: String, expected: [String]) {
        #expect(ReplCompletion.candidates(forLine: line) == expected)
    }

    @Test("Every transfer flag is offered after flags=")
    func allTransferFlags() {
        let offered = ReplCompletion.candidates(forLine: "create_transfers id=1 flags=")
        #expect(offered.count == 9 && offered.contains("closing_credit") && offered == offered.sorted())
    }
}
