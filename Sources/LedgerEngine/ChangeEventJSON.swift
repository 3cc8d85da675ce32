package import LedgerCore

/// The change stream's line format (docs/cdc.md): one JSON object per event, keys in a
/// fixed order, u64 and u128 values as decimal strings (a JSON parser that reads numbers
/// as doubles keeps them exact), u32 and u16 values as JSON numbers, flags as the list of
/// the names of the bits that are set, in bit order. Every string is plain ASCII.
extension ChangeEvent {
    /// The event as one line of JSON, without the newline.
    package var jsonLine: String {
        var out = "{\"lsn\":\"\(lsn)\",\"index\":\(index),\"record_events\":\(recordEvents),"
            + "\"timestamp\":\"\(timestamp)\",\"type\":\"\(kind.rawValue)\","
        switch object {
        case .account(let a): out += "\"account\":" + Self.json(a)
        case .transfer(let t): out += "\"transfer\":" + Self.json(t)
        }
        return out + "}"
    }

    /// An account's JSON object (the reserved field, always zero, is left out).
    package static func json(_ a: Account) -> String {
        "{\"id\":\"\(a.id)\",\"debits_pending\":\"\(a.debitsPending)\",\"debits_posted\":\"\(a.debitsPosted)\","
            + "\"credits_pending\":\"\(a.creditsPending)\",\"credits_posted\":\"\(a.creditsPosted)\","
            + "\"user_data_128\":\"\(a.userData128)\",\"user_data_64\":\"\(a.userData64)\",\"user_data_32\":\(a.userData32),"
            + "\"ledger\":\(a.ledger),\"code\":\(a.code),\"flags\":\(flagList(a.flags.rawValue, accountFlagNames)),"
            + "\"timestamp\":\"\(a.timestamp)\"}"
    }

    /// A transfer's JSON object.
    package static func json(_ t: Transfer) -> String {
        "{\"id\":\"\(t.id)\",\"debit_account_id\":\"\(t.debitAccountId)\",\"credit_account_id\":\"\(t.creditAccountId)\","
            + "\"amount\":\"\(t.amount)\",\"pending_id\":\"\(t.pendingId)\",\"user_data_128\":\"\(t.userData128)\","
            + "\"user_data_64\":\"\(t.userData64)\",\"user_data_32\":\(t.userData32),\"timeout\":\(t.timeout),"
            + "\"ledger\":\(t.ledger),\"code\":\(t.code),\"flags\":\(flagList(t.flags.rawValue, transferFlagNames)),"
            + "\"timestamp\":\"\(t.timestamp)\"}"
    }

    /// The names of `AccountFlags` bits 0, 1, 2...: the reference's names.
    package static let accountFlagNames = [
        "linked", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits", "history", "imported", "closed",
    ]

    /// The names of `TransferFlags` bits 0, 1, 2...: the reference's names.
    package static let transferFlagNames = [
        "linked", "pending", "post_pending_transfer", "void_pending_transfer", "balancing_debit", "balancing_credit",
        "closing_debit", "closing_credit", "imported",
    ]

    /// `["name",...]` for the set bits of `raw`. A stored object has no reserved bit set
    /// (the ledger refuses them); one would be named `bit_N`, never dropped.
    private static func flagList(_ raw: UInt16, _ names: [String]) -> String {
        var items: [String] = []
        for bit in 0..<16 where raw & (1 << bit) != 0 {
            items.append("\"" + (bit < names.count ? names[bit] : "bit_\(bit)") + "\"")
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}
