package import LedgerCore

/// One REPL command, parsed and typed, ready to send.
package enum ReplCommand: Sendable, Equatable {
    case createAccounts([Account])
    case createTransfers([Transfer])
    case lookupAccounts([UInt128])
    case lookupTransfers([UInt128])
    case getAccountTransfers(AccountFilter)
    case getAccountBalances(AccountFilter)
    case queryAccounts(QueryFilter)
    case queryTransfers(QueryFilter)
    case help
    case exit
}

/// A command the REPL could not understand: what and where.
package struct ReplParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
