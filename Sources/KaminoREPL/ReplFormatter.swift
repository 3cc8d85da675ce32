package import LedgerClient
package import LedgerCore

/// Renders results the way the REPL prints them: one JSON object per record, u128 as
/// decimal strings (JSON numbers cannot hold them), statuses in the reference's names.
package enum ReplFormatter {
    package static func createResults(_ results: [(timestamp: UInt64, status: String)]) -> String {
        results.enumerated().map { index, r in
            "{ \"index\": \(index), \"status\": \"\(r.status)\", \"timestamp\": \(r.timestamp) }"
        }.joined(separator: "\n")
    }

    package static func account(_ a: Account) -> String {
        object([
            ("id", quoted(a.id)), ("debits_pending", quoted(a.debitsPending)), ("debits_posted", quoted(a.debitsPosted)),
            ("credits_pending", quoted(a.creditsPending)), ("credits_posted", quoted(a.creditsPosted)),
            ("user_data_128", quoted(a.userData128)), ("user_data_64", "\(a.userData64)"),
            ("user_data_32", "\(a.userData32)"), ("ledger", "\(a.ledger)"), ("code", "\(a.code)"),
            ("flags", flagList(UInt32(a.flags.rawValue), ReplParser.accountFlags)), ("timestamp", "\(a.timestamp)"),
        ])
    }

    package static func transfer(_ t: Transfer) -> String {
        object([
            ("id", quoted(t.id)), ("debit_account_id", quoted(t.debitAccountId)),
            ("credit_account_id", quoted(t.creditAccountId)), ("amount", quoted(t.amount)),
            ("pending_id", quoted(t.pendingId)), ("user_data_128", quoted(t.userData128)),
            ("user_data_64", "\(t.userData64)"), ("user_data_32", "\(t.userData32)"), ("timeout", "\(t.timeout)"),
            ("ledger", "\(t.ledger)"), ("code", "\(t.code)"),
            ("flags", flagList(UInt32(t.flags.rawValue), ReplParser.transferFlags)), ("timestamp", "\(t.timestamp)"),
        ])
    }

    package static func balance(_ b: AccountBalance) -> String {
        object([
            ("debits_pending", quoted(b.debitsPending)), ("debits_posted", quoted(b.debitsPosted)),
            ("credits_pending", quoted(b.creditsPending)), ("credits_posted", quoted(b.creditsPosted)),
            ("timestamp", "\(b.timestamp)"),
        ])
    }

    /// A failed request in plain words: `cannot reach HOST:PORT` when no connection
    /// could be made, the server's error name for an error reply.
    package static func clientError(_ error: KaminoClientError, address: String) -> String {
        switch error.code {
        case .connectionFailed, .circuitOpen:
            return "error: cannot reach \(address) (\(plainReason(error.message)))"
        case .serverError(let code):
            // The client's message repeats the code ("server error 12 (busy): TEXT").
            var text = Substring(error.message)
            if let end = text.firstRange(of: "(\(code)): ") { text = text[end.upperBound...] }
            return "error: the server answered \(code): \(text)"
        case .timeout:
            return "error: no reply from \(address) in time; a create may have been applied (look it up)"
        case .outcomeUnknown, .invalidReply, .invalidArgument, .closed, .cancelled:
            return "error: \(error.message)"
        }
    }

    /// The common socket failures in a few words instead of NIO's nested description.
    static func plainReason(_ message: String) -> String {
        if message.contains("Connection refused") { return "connection refused: is the server running?" }
        if message.contains("connectTimeout") || message.contains("timed out") { return "connection timed out" }
        if message.contains("No route to host") { return "no route to host" }
        if message.contains("Connection reset") { return "connection reset" }
        return message
    }

    /// `exceedsCredits` -> `exceeds_credits`.
    package static func snakeCase(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase || c.isNumber && !(out.last?.isNumber ?? true) {
                out.append("_")
            }
            out.append(contentsOf: c.lowercased())
        }
        return out
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{ " + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + " }"
    }

    private static func quoted(_ value: UInt128) -> String { "\"\(value)\"" }

    private static func flagList(_ bits: UInt32, _ names: [String: UInt32]) -> String {
        let set = names.filter { bits & $0.value != 0 }.sorted { $0.value < $1.value }.map { "\"\($0.key)\"" }
        return "[" + set.joined(separator: ", ") + "]"
    }
}
