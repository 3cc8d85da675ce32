import Testing

import KaminoREPL
import LedgerCore

@Suite("REPL command language")
struct ReplParserTests {
    @Test("create_accounts with several objects, flags and _ separators")
    func createAccounts() throws {
        let command = try ReplParser.parse(
            "create_accounts id=1 ledger=700 code=10 flags=debits_must_not_exceed_credits|history, id=1_000 ledger=700 code=10;")
        #expect(command == .createAccounts([
            Account(id: 1, ledger: 700, code: 10, flags: [.debitsMustNotExceedCredits, .history]),
            Account(id: 1000, ledger: 700, code: 10),
        ]))
    }

    @Test("create_transfers with a u128 amount and two-phase fields")
    func createTransfers() throws {
        let command = try ReplParser.parse(
            "create_transfers id=7 debit_account_id=1 credit_account_id=2 amount=340282366920938463463374607431768211455 ledger=700 code=1 flags=pending timeout=30")
        #expect(command == .createTransfers([
            Transfer(id: 7, debitAccountId: 1, creditAccountId: 2, amount: .max, timeout: 30, ledger: 700, code: 1, flags: .pending),
        ]))
    }

    @Test("lookups, filters with defaults, help and exit")
    func others() throws {
        #expect(try ReplParser.parse("lookup_transfers id=1, id=2") == .lookupTransfers([1, 2]))
        #expect(try ReplParser.parse("  lookup_accounts id=3 ; ") == .lookupAccounts([3]))
        #expect(try ReplParser.parse("get_account_transfers account_id=5 limit=3 flags=credits|reversed")
            == .getAccountTransfers(AccountFilter(accountId: 5, limit: 3, flags: [.credits, .reversed])))
        #expect(try ReplParser.parse("get_account_balances account_id=5")
            == .getAccountBalances(AccountFilter(accountId: 5, limit: 8189)))
        #expect(try ReplParser.parse("query_transfers code=4 limit=2 flags=reversed")
            == .queryTransfers(QueryFilter(code: 4, limit: 2, flags: .reversed)))
        #expect(try ReplParser.parse("help") == .help)
        #expect(try ReplParser.parse("exit;") == .exit)
    }

    @Test("Errors name what is wrong", arguments: [
        ("create_accounts id=1 ledger=700 code=10 colour=red", "account 0: field colour: unknown field; known: id, "),
        ("create_accounts id=1 ledger=700 code=10, ledger=700 code=10", "account 1: field id: is required"),
        ("create_transfers id=1 amount=5, id=2, id=3 amount=-5", "transfer 2: field amount: must be an unsigned 128-bit integer"),
        ("create_accounts id=1 code=70000", "account 0: field code: must be an unsigned 16-bit integer"),
        ("create_transfers id=1 flags=pending|teleport", "transfer 0: field flags: unknown flag 'teleport'"),
        ("create_transfers id=1 flags=pending||linked", "transfer 0: field flags: unknown flag ''"),
        ("create_accounts id=1 id=2", "account 0: field id: given twice"),
        ("transfer_money id=1", "unknown operation 'transfer_money'"),
        ("lookup_accounts id=1, 1", "id 1: expected key=value, got '1'"),
        ("lookup_accounts id=0xg1", "id 0: field id: must be an unsigned 128-bit integer (decimal or 0x hex), got '0xg1'"),
        ("lookup_accounts id=1__000", "id 0: field id: must be"),
        ("lookup_accounts id=_1", "id 0: field id: must be"),
        ("lookup_accounts id=1_", "id 0: field id: must be"),
        ("lookup_accounts id=0x", "id 0: field id: must be"),
        ("lookup_accounts id=+5", "id 0: field id: must be"),
        ("lookup_accounts id=0x-5", "id 0: field id: must be"),
        ("query_accounts ledger=1, ledger=2", "query_accounts takes one filter, got 2"),
        ("get_account_balances account_id=1 limit=0x1_0000_0000", "filter 0: field limit: must be an unsigned 32-bit integer"),
    ])
    func errors(line: String, expected: String) {
        #expect(throws: ReplParseError.self) { try ReplParser.parse(line) }
        do {
            _ = try ReplParser.parse(line)
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("Hex and _-separated numbers, in ids, amounts and small fields")
    func numbers() throws {
        #expect(try ReplParser.parse("lookup_accounts id=0xff, id=0XDEAD_beef, id=1_000_000") == .lookupAccounts([255, 0xdead_beef, 1_000_000]))
        #expect(try ReplParser.parse("lookup_transfers id=0xffffffff_ffffffff_ffffffff_ffffffff") == .lookupTransfers([.max]))
        #expect(try ReplParser.parse("create_transfers id=0x10 amount=0x1_00 ledger=0x2bc code=0xa timeout=1_0")
            == .createTransfers([Transfer(id: 16, amount: 256, timeout: 10, ledger: 700, code: 10)]))
        #expect(throws: ReplParseError.self) { try ReplParser.parse("lookup_transfers id=0x1_ffffffff_ffffffff_ffffffff_ffffffff") }
    }

    @Test("Statuses print with the reference's names")
    func statusNames() {
        #expect(ReplFormatter.snakeCase("\(CreateTransferStatus.exceedsCredits)") == "exceeds_credits")
        #expect(ReplFormatter.snakeCase("\(CreateTransferStatus.existsWithDifferentUserData128)") == "exists_with_different_user_data_128")
        #expect(ReplFormatter.snakeCase("\(CreateAccountStatus.created)") == "created")
    }
}
