package import KaminoAuth
import LedgerCore
package import LedgerWire

/// Which right a request needs, and whether a ledger-limited token may send it
/// (docs/security.md, "Rights"). Pure: no state, no I/O.
package enum RequestGate {
    /// The verdict on one request.
    package enum Verdict: Equatable {
        case allow
        /// Refused `forbidden`: `right` names what was missing (`read`, `write`,
        /// `import`, `admin`, or `ledger`), `detail` says why.
        case forbid(right: String, detail: String)
    }

    /// A constant: an array literal in `checkCreate` would build the set through the
    /// generic `SetAlgebra` initializer on every request (about 2,000 instructions).
    private static let writeAndImport: Rights = [.write, .import]

    /// Checks `request` against `principal`. A create needs `write` for events without
    /// the `imported` flag and `import` for events with it; a token limited to ledgers
    /// must name an allowed ledger in every event (0, which a post or void may leave to
    /// the pending transfer, is refused too), else the whole request is refused and
    /// nothing of it applied.
    package static func check(_ request: Request, principal: Principal) -> Verdict {
        switch request {
        case .lookupAccounts, .lookupTransfers, .getAccountTransfers, .getAccountBalances, .queryAccounts, .queryTransfers:
            return principal.rights.contains(.read) ? .allow : .forbid(right: "read", detail: "the token has no read right")
        case .status, .digest, .promote:
            return principal.rights.contains(.admin) ? .allow : .forbid(right: "admin", detail: "the token has no admin right")
        case .authenticate:
            return .allow
        case .createAccounts(let accounts):
            return checkCreate(
                principal, count: accounts.count, imported: { accounts[$0].flags.contains(.imported) },
                ledger: { accounts[$0].ledger }, what: "account")
        case .createTransfers(let transfers):
            return checkCreate(
                principal, count: transfers.count, imported: { transfers[$0].flags.contains(.imported) },
                ledger: { transfers[$0].ledger }, what: "transfer")
        }
    }

    private static func checkCreate(
        _ principal: Principal, count: Int, imported: (Int) -> Bool, ledger: (Int) -> UInt32, what: String
    ) -> Verdict {
        let rights = principal.rights
        if rights.isSuperset(of: Self.writeAndImport) && principal.ledgers == nil { return .allow }
        for i in 0..<count {
            if imported(i) {
                guard rights.contains(.import) else {
                    return .forbid(right: "import", detail: "\(what) \(i) is imported; the token has no import right")
                }
            } else {
                guard rights.contains(.write) else {
                    return .forbid(right: "write", detail: "the token has no write right")
                }
            }
            let l = ledger(i)
            guard principal.allows(ledger: l) else {
                return .forbid(right: "ledger", detail: "\(what) \(i) is on ledger \(l), outside the token's ledgers; nothing applied")
            }
        }
        return .allow
    }
}

extension Request {
    /// True for lookups and queries.
    var isRead: Bool {
        switch self {
        case .lookupAccounts, .lookupTransfers, .getAccountTransfers, .getAccountBalances, .queryAccounts, .queryTransfers:
            return true
        case .createAccounts, .createTransfers, .status, .promote, .digest, .authenticate:
            return false
        }
    }
}
