/// What a token allows (docs/security.md, "Rights").
package struct Rights: OptionSet, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Lookups and queries.
    package static let read = Rights(rawValue: 1 << 0)
    /// `create_accounts` and `create_transfers` without the `imported` flag.
    package static let write = Rights(rawValue: 1 << 1)
    /// Creates with the `imported` flag (backdated events).
    package static let `import` = Rights(rawValue: 1 << 2)
    /// `status`, `digest`, `promote`.
    package static let admin = Rights(rawValue: 1 << 3)
    /// A follower's connection to the replication port.
    package static let replicate = Rights(rawValue: 1 << 4)

    /// Every right: what a connection has when authentication is off.
    package static let all: Rights = [.read, .write, .import, .admin, .replicate]

    /// The claim's names, in a fixed order.
    package static let names: [(String, Rights)] = [
        ("read", .read), ("write", .write), ("import", .import), ("admin", .admin), ("replicate", .replicate),
    ]

    /// The right named `name`, nil for names Kamino does not know.
    package init?(name: String) {
        guard let found = Self.names.first(where: { $0.0 == name }) else { return nil }
        self = found.1
    }

    /// `read,write`, ...
    package var description: String {
        let names = Self.names.filter { contains($0.1) }.map(\.0)
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}

/// Who a verified token speaks for and what it may do.
package struct Principal: Sendable, Hashable {
    /// `sub` (`-` when the token has none).
    package var subject: String
    /// `iss` (empty when the token has none).
    package var issuer: String
    package var rights: Rights
    /// The ledgers the token may see and touch; nil: every ledger.
    package var ledgers: Set<UInt32>?
    /// `exp`, seconds since the epoch; nil when authentication is off.
    package var expiresAt: Int64?

    package init(subject: String, issuer: String, rights: Rights, ledgers: Set<UInt32>?, expiresAt: Int64?) {
        self.subject = subject
        self.issuer = issuer
        self.rights = rights
        self.ledgers = ledgers
        self.expiresAt = expiresAt
    }

    /// The principal of every connection when authentication is off: every right, every ledger.
    package static let unauthenticated = Principal(subject: "-", issuer: "", rights: .all, ledgers: nil, expiresAt: nil)

    /// True when the token may see and touch `ledger`.
    @inline(__always)
    package func allows(ledger: UInt32) -> Bool { ledgers?.contains(ledger) ?? true }
}
