package import LedgerCore

/// The change stream's line format (docs/cdc.md): one JSON object per event, keys in a
/// fixed order, u64 and u128 values as decimal strings (a JSON parser that reads numbers
/// as doubles keeps them exact), u32 and u16 values and the two counters as JSON numbers,
/// flags as the list of the names of the bits that are set, in bit order. Every byte is
/// ASCII. Written as bytes straight into the output buffer: building it from Strings took
/// most of the stream's time (docs/benchmarks.md, "Session 11: the change stream").
extension ChangeEvent {
    /// The event as one line of JSON, without the newline.
    package var jsonLine: String {
        var bytes: [UInt8] = []
        appendJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the event's line of JSON (without the newline) to `out`.
    package func appendJSON(to out: inout [UInt8]) {
        JSONOut.raw("{\"lsn\":", &out)
        JSONOut.quoted(lsn, &out)
        JSONOut.raw(",\"index\":", &out)
        JSONOut.decimal(UInt64(index), &out)
        JSONOut.raw(",\"record_events\":", &out)
        JSONOut.decimal(UInt64(recordEvents), &out)
        JSONOut.raw(",\"timestamp\":", &out)
        JSONOut.quoted(timestamp, &out)
        JSONOut.raw(",\"type\":\"", &out)
        out.append(contentsOf: kind.rawValue.utf8)
        switch object {
        case .account(let a):
            JSONOut.raw("\",\"account\":", &out)
            Self.appendJSON(a, to: &out)
        case .transfer(let t):
            JSONOut.raw("\",\"transfer\":", &out)
            Self.appendJSON(t, to: &out)
        }
        JSONOut.raw("}", &out)
    }

    /// An account's JSON object (the reserved field, always zero, is left out).
    package static func json(_ a: Account) -> String {
        var bytes: [UInt8] = []
        appendJSON(a, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A transfer's JSON object.
    package static func json(_ t: Transfer) -> String {
        var bytes: [UInt8] = []
        appendJSON(t, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendJSON(_ a: Account, to out: inout [UInt8]) {
        JSONOut.raw("{\"id\":", &out)
        JSONOut.quoted(a.id, &out)
        JSONOut.raw(",\"debits_pending\":", &out)
        JSONOut.quoted(a.debitsPending, &out)
        JSONOut.raw(",\"debits_posted\":", &out)
        JSONOut.quoted(a.debitsPosted, &out)
        JSONOut.raw(",\"credits_pending\":", &out)
        JSONOut.quoted(a.creditsPending, &out)
        JSONOut.raw(",\"credits_posted\":", &out)
        JSONOut.quoted(a.creditsPosted, &out)
        JSONOut.raw(",\"user_data_128\":", &out)
        JSONOut.quoted(a.userData128, &out)
        JSONOut.raw(",\"user_data_64\":", &out)
        JSONOut.quoted(a.userData64, &out)
        JSONOut.raw(",\"user_data_32\":", &out)
        JSONOut.decimal(UInt64(a.userData32), &out)
        JSONOut.raw(",\"ledger\":", &out)
        JSONOut.decimal(UInt64(a.ledger), &out)
        JSONOut.raw(",\"code\":", &out)
        JSONOut.decimal(UInt64(a.code), &out)
        JSONOut.raw(",\"flags\":", &out)
        JSONOut.flags(a.flags.rawValue, accountFlagNames, &out)
        JSONOut.raw(",\"timestamp\":", &out)
        JSONOut.quoted(a.timestamp, &out)
        JSONOut.raw("}", &out)
    }

    private static func appendJSON(_ t: Transfer, to out: inout [UInt8]) {
        JSONOut.raw("{\"id\":", &out)
        JSONOut.quoted(t.id, &out)
        JSONOut.raw(",\"debit_account_id\":", &out)
        JSONOut.quoted(t.debitAccountId, &out)
        JSONOut.raw(",\"credit_account_id\":", &out)
        JSONOut.quoted(t.creditAccountId, &out)
        JSONOut.raw(",\"amount\":", &out)
        JSONOut.quoted(t.amount, &out)
        JSONOut.raw(",\"pending_id\":", &out)
        JSONOut.quoted(t.pendingId, &out)
        JSONOut.raw(",\"user_data_128\":", &out)
        JSONOut.quoted(t.userData128, &out)
        JSONOut.raw(",\"user_data_64\":", &out)
        JSONOut.quoted(t.userData64, &out)
        JSONOut.raw(",\"user_data_32\":", &out)
        JSONOut.decimal(UInt64(t.userData32), &out)
        JSONOut.raw(",\"timeout\":", &out)
        JSONOut.decimal(UInt64(t.timeout), &out)
        JSONOut.raw(",\"ledger\":", &out)
        JSONOut.decimal(UInt64(t.ledger), &out)
        JSONOut.raw(",\"code\":", &out)
        JSONOut.decimal(UInt64(t.code), &out)
        JSONOut.raw(",\"flags\":", &out)
        JSONOut.flags(t.flags.rawValue, transferFlagNames, &out)
        JSONOut.raw(",\"timestamp\":", &out)
        JSONOut.quoted(t.timestamp, &out)
        JSONOut.raw("}", &out)
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
}

/// Writers of JSON pieces into a byte buffer.
private enum JSONOut {
    /// 10^19, the largest power of ten below 2^64.
    static let tenToThe19: UInt64 = 10_000_000_000_000_000_000

    @inline(__always)
    static func raw(_ text: StaticString, _ out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// `v` in decimal, no leading zeros.
    static func decimal(_ v: UInt64, _ out: inout [UInt8]) {
        if v < 10 {
            out.append(UInt8(ascii: "0") + UInt8(v))
            return
        }
        digits(v, width: nil, &out)
    }

    /// `v` in decimal: up to three base-10^19 parts, the lower ones zero-padded.
    static func decimal(_ v: UInt128, _ out: inout [UInt8]) {
        if v <= UInt128(UInt64.max) {
            decimal(UInt64(v), &out)
            return
        }
        let base = UInt128(tenToThe19)
        let low = UInt64(v % base)
        let rest = v / base
        if rest <= UInt128(UInt64.max) {
            decimal(UInt64(rest), &out)
        } else {
            // rest < 2^128 / 10^19 < 4 * 10^19: one digit, then 19.
            decimal(UInt64(rest / base), &out)
            digits(UInt64(rest % base), width: 19, &out)
        }
        digits(low, width: 19, &out)
    }

    /// `"v"` in decimal.
    static func quoted(_ v: UInt64, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        decimal(v, &out)
        out.append(UInt8(ascii: "\""))
    }

    /// `"v"` in decimal.
    static func quoted(_ v: UInt128, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        decimal(v, &out)
        out.append(UInt8(ascii: "\""))
    }

    /// The decimal digits of `v` (at least `width` of them, zero-padded, when given).
    private static func digits(_ v: UInt64, width: Int?, _ out: inout [UInt8]) {
        // 20 digits hold any UInt64.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { b in
            var i = 20
            var x = v
            repeat {
                i -= 1
                b[i] = UInt8(ascii: "0") + UInt8(x % 10)
                x /= 10
            } while x > 0
            if let width {
                assert(width <= 20, "a UInt64 has at most 20 digits")
                while 20 - i < width {
                    i -= 1
                    b[i] = UInt8(ascii: "0")
                }
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i..<20]))
        }
    }

    /// `["name",...]` for the set bits of `bits`. A stored object has no reserved bit set
    /// (the ledger refuses them); one would be named `bit_N`, never dropped.
    static func flags(_ bits: UInt16, _ names: [String], _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        var first = true
        for bit in 0..<16 where bits & (1 << bit) != 0 {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            if bit < names.count {
                out.append(contentsOf: names[bit].utf8)
            } else {
                raw("bit_", &out)
                decimal(UInt64(bit), &out)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "]"))
    }
}
