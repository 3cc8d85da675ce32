import LedgerCore

/// Parses the REPL's command language, the one TigerBeetle's REPL users know:
/// `OPERATION key=value key=value, key=value ...;` where commas separate objects and
/// flags are joined with `|` (for example `flags=linked|pending`).
package enum ReplParser {
    /// Parses one command (a trailing `;` is optional).
    package static func parse(_ line: String) throws(ReplParseError) -> ReplCommand {
        var text = line.trimmingWhitespace()
        if text.hasSuffix(";") { text.removeLast() }
        let (operation, rest) = splitOperation(text)
        let objects = try parseObjects(rest, kind: objectKind[operation] ?? "object")
        switch operation {
        case "help", "?": return .help
        case "exit", "quit": return .exit
        case "create_accounts": return .createAccounts(try objects.map(account))
        case "create_transfers": return .createTransfers(try objects.map(transfer))
        case "lookup_accounts": return .lookupAccounts(try objects.map { (o) throws(ReplParseError) in try o.u128("id", required: true) })
        case "lookup_transfers": return .lookupTransfers(try objects.map { (o) throws(ReplParseError) in try o.u128("id", required: true) })
        case "get_account_transfers": return .getAccountTransfers(try accountFilter(single(objects, operation)))
        case "get_account_balances": return .getAccountBalances(try accountFilter(single(objects, operation)))
        case "query_accounts": return .queryAccounts(try queryFilter(single(objects, operation)))
        case "query_transfers": return .queryTransfers(try queryFilter(single(objects, operation)))
        case "": throw ReplParseError("empty command; type help")
        default: throw ReplParseError("unknown operation '\(operation)'; type help")
        }
    }

    private static func splitOperation(_ text: String) -> (String, Substring) {
        guard let space = text.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, "") }
        return (String(text[..<space]), text[text.index(after: space)...])
    }

    /// What one object of each operation is called in error messages.
    private static let objectKind: [String: String] = [
        "create_accounts": "account", "create_transfers": "transfer", "lookup_accounts": "id",
        "lookup_transfers": "id", "get_account_transfers": "filter", "get_account_balances": "filter",
        "query_accounts": "filter", "query_transfers": "filter",
    ]

    private static func parseObjects(_ text: Substring, kind: String) throws(ReplParseError) -> [Fields] {
        var objects: [Fields] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var fields = Fields(kind: kind, index: objects.count)
            for token in part.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
                guard let eq = token.firstIndex(of: "="), eq != token.startIndex else {
                    throw ReplParseError("\(fields.place): expected key=value, got '\(token)'")
                }
                let key = String(token[..<eq])
                let value = String(token[token.index(after: eq)...])
                guard fields.values[key] == nil else { throw fields.error(key, "given twice in one object") }
                fields.values[key] = value
            }
            if !fields.values.isEmpty { objects.append(fields) }
        }
        return objects
    }

    private static func single(_ objects: [Fields], _ operation: String) throws(ReplParseError) -> Fields {
        guard objects.count <= 1 else { throw ReplParseError("\(operation) takes one filter, got \(objects.count)") }
        return objects.first ?? Fields(kind: "filter", index: 0)
    }

    private static func account(_ o: Fields) throws(ReplParseError) -> Account {
        try o.rejectUnknown(fieldNames["create_accounts", default: []])
        return Account(
            id: try o.u128("id", required: true), userData128: try o.u128("user_data_128"),
            userData64: try o.uint("user_data_64"), userData32: try o.uint("user_data_32"),
            ledger: try o.uint("ledger"), code: try o.uint("code"),
            flags: AccountFlags(rawValue: try o.flags("flags", Self.accountFlags)), timestamp: try o.uint("timestamp"))
    }

    private static func transfer(_ o: Fields) throws(ReplParseError) -> Transfer {
        try o.rejectUnknown(fieldNames["create_transfers", default: []])
        return Transfer(
            id: try o.u128("id", required: true), debitAccountId: try o.u128("debit_account_id"),
            creditAccountId: try o.u128("credit_account_id"), amount: try o.u128("amount"),
            pendingId: try o.u128("pending_id"), userData128: try o.u128("user_data_128"),
            userData64: try o.uint("user_data_64"), userData32: try o.uint("user_data_32"),
            timeout: try o.uint("timeout"), ledger: try o.uint("ledger"), code: try o.uint("code"),
            flags: TransferFlags(rawValue: try o.flags("flags", Self.transferFlags)), timestamp: try o.uint("timestamp"))
    }

    private static func accountFilter(_ o: Fields) throws(ReplParseError) -> AccountFilter {
        try o.rejectUnknown(fieldNames["get_account_transfers", default: []])
        let flags = o.values["flags"] == nil ? UInt32(0b11) : try o.flags("flags", Self.accountFilterFlags)
        return AccountFilter(
            accountId: try o.u128("account_id", required: true), userData128: try o.u128("user_data_128"),
            userData64: try o.uint("user_data_64"), userData32: try o.uint("user_data_32"), code: try o.uint("code"),
            timestampMin: try o.uint("timestamp_min"), timestampMax: try o.uint("timestamp_max"),
            limit: o.values["limit"] == nil ? 8189 : try o.uint("limit"), flags: AccountFilterFlags(rawValue: flags))
    }

    private static func queryFilter(_ o: Fields) throws(ReplParseError) -> QueryFilter {
        try o.rejectUnknown(fieldNames["query_accounts", default: []])
        return QueryFilter(
            userData128: try o.u128("user_data_128"), userData64: try o.uint("user_data_64"),
            userData32: try o.uint("user_data_32"), ledger: try o.uint("ledger"), code: try o.uint("code"),
            timestampMin: try o.uint("timestamp_min"), timestampMax: try o.uint("timestamp_max"),
            limit: o.values["limit"] == nil ? 8189 : try o.uint("limit"),
            flags: QueryFilterFlags(rawValue: try o.flags("flags", Self.queryFilterFlags)))
    }

    /// The operations, in the order `help` lists them, then the REPL's own commands.
    package static let operations = [
        "create_accounts", "create_transfers", "lookup_accounts", "lookup_transfers", "get_account_transfers",
        "get_account_balances", "query_accounts", "query_transfers", "help", "exit",
    ]

    /// The fields each operation's objects accept.
    package static let fieldNames: [String: [String]] = {
        let account = ["id", "user_data_128", "user_data_64", "user_data_32", "ledger", "code", "flags", "timestamp"]
        let transfer = ["id", "debit_account_id", "credit_account_id", "amount", "pending_id", "user_data_128",
                        "user_data_64", "user_data_32", "timeout", "ledger", "code", "flags", "timestamp"]
        let accountFilter = ["account_id", "user_data_128", "user_data_64", "user_data_32", "code",
                             "timestamp_min", "timestamp_max", "limit", "flags"]
        let queryFilter = ["user_data_128", "user_data_64", "user_data_32", "ledger", "code",
                           "timestamp_min", "timestamp_max", "limit", "flags"]
        return [
            "create_accounts": account, "create_transfers": transfer, "lookup_accounts": ["id"],
            "lookup_transfers": ["id"], "get_account_transfers": accountFilter, "get_account_balances": accountFilter,
            "query_accounts": queryFilter, "query_transfers": queryFilter,
        ]
    }()

    /// The names its `flags` field accepts, per operation.
    package static func flagNames(_ operation: String) -> [String: UInt32] {
        switch operation {
        case "create_accounts": return accountFlags
        case "create_transfers": return transferFlags
        case "get_account_transfers", "get_account_balances": return accountFilterFlags
        case "query_accounts", "query_transfers": return queryFilterFlags
        default: return [:]
        }
    }

    static let accountFlags: [String: UInt32] = [
        "linked": 1 << 0, "debits_must_not_exceed_credits": 1 << 1, "credits_must_not_exceed_debits": 1 << 2,
        "history": 1 << 3, "imported": 1 << 4, "closed": 1 << 5,
    ]
    static let transferFlags: [String: UInt32] = [
        "linked": 1 << 0, "pending": 1 << 1, "post_pending_transfer": 1 << 2, "void_pending_transfer": 1 << 3,
        "balancing_debit": 1 << 4, "balancing_credit": 1 << 5, "closing_debit": 1 << 6, "closing_credit": 1 << 7,
        "imported": 1 << 8,
    ]
    static let accountFilterFlags: [String: UInt32] = ["debits": 1 << 0, "credits": 1 << 1, "reversed": 1 << 2]
    static let queryFilterFlags: [String: UInt32] = ["reversed": 1 << 0]
}

/// The `key=value` pairs of one object, and where it stands in the command (for errors
/// such as `transfer 2: field amount: ...`; objects count from 0, like result indexes).
struct Fields {
    let kind: String
    let index: Int
    var values: [String: String] = [:]

    var place: String { "\(kind) \(index)" }

    func error(_ key: String, _ message: String) -> ReplParseError {
        ReplParseError("\(place): field \(key): \(message)")
    }

    func rejectUnknown(_ known: [String]) throws(ReplParseError) {
        for key in values.keys.sorted() where !known.contains(key) {
            throw error(key, "unknown field; known: \(known.joined(separator: ", "))")
        }
    }

    func u128(_ key: String, required: Bool = false) throws(ReplParseError) -> UInt128 {
        guard let text = values[key] else {
            if required { throw error(key, "is required") }
            return 0
        }
        guard let value: UInt128 = Self.number(text) else {
            throw error(key, "must be an unsigned 128-bit integer (decimal or 0x hex), got '\(text)'")
        }
        return value
    }

    func uint<T: FixedWidthInteger & UnsignedInteger>(_ key: String) throws(ReplParseError) -> T {
        guard let text = values[key] else { return 0 }
        guard let value: T = Self.number(text) else {
            throw error(key, "must be an unsigned \(T.bitWidth)-bit integer (decimal or 0x hex), got '\(text)'")
        }
        return value
    }

    func flags<T: FixedWidthInteger>(_ key: String, _ names: [String: UInt32]) throws(ReplParseError) -> T {
        guard let text = values[key] else { return 0 }
        var bits: UInt32 = 0
        for name in text.split(separator: "|", omittingEmptySubsequences: false) {
            guard let bit = names[String(name)] else {
                throw error(key, "unknown flag '\(name)'; known: \(names.keys.sorted().joined(separator: ", "))")
            }
            bits |= bit
        }
        return T(truncatingIfNeeded: bits)
    }

    /// Decimal or `0x` hexadecimal, with optional `_` between digits (not leading,
    /// trailing or doubled, and no sign, so a typo is not silently read as a number).
    static func number<T: FixedWidthInteger & UnsignedInteger>(_ text: String) -> T? {
        var digits = Substring(text)
        var radix = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            radix = 16
        }
        guard let first = digits.first, let last = digits.last, first.isHexDigit, last != "_",
            !digits.contains("__")
        else { return nil }
        return T(String(digits.filter { $0 != "_" }), radix: radix)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
