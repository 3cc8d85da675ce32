package import LedgerEngine

/// The node's role in a replicated cluster, as the client port sees it: what answers the
/// `status` (200) and `promote` (201) operations (docs/protocol.md, "Operations").
package protocol NodeControl: Sendable {
    /// A JSON object: at least "role" ("standalone"|"primary"|"follower"|"fenced"),
    /// "epoch", "last_lsn", "durable_lsn", "commit_lsn", "primary" (client address or
    /// null), "followers": [{"node","address","state","durable_lsn","applied_lsn",
    /// "lag_lsn","lag_seconds"}].
    func statusJSON() async -> [UInt8]
    /// Makes this node the primary (a follower only); returns a JSON object. Throws
    /// `notFollower` on a node that is not a follower.
    func promote() async throws(EngineError) -> [UInt8]
}

/// A node without replication: role "standalone", epoch 0, no followers; `promote` is
/// refused with `notFollower`.
package struct StandaloneNodeControl: NodeControl {
    private let ledger: DurableLedger

    package init(ledger: DurableLedger) {
        self.ledger = ledger
    }

    package func statusJSON() async -> [UInt8] {
        // A read that looks at nothing: the applied LSN without the state digest's cost.
        // (It fails only once the log has failed; the log's last LSN then.)
        let applied = (try? await ledger.readAt { _ in true }.lsn) ?? ledger.loggedLSN
        let durable = ledger.durableLSN
        return Array(
            StatusJSON.object([
                ("role", StatusJSON.string("standalone")), ("epoch", "0"), ("last_lsn", "\(applied)"),
                ("durable_lsn", "\(durable)"), ("commit_lsn", "\(durable)"), ("primary", "null"), ("followers", "[]"),
            ]).utf8)
    }

    package func promote() async throws(EngineError) -> [UInt8] {
        throw EngineError(.notFollower, "promote applies to followers only; this node is standalone")
    }
}

/// Writes the small JSON objects of `status` and `promote` (no Foundation).
package enum StatusJSON {
    /// `{"key": value, …}` with the keys in order; values are JSON text already.
    package static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// `[a,b,…]` of JSON texts.
    package static func array(_ items: [String]) -> String {
        "[" + items.joined(separator: ",") + "]"
    }

    /// A JSON string literal, escaped.
    package static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A string literal, or `null` for nil.
    package static func stringOrNull(_ s: String?) -> String {
        s.map(string) ?? "null"
    }
}
