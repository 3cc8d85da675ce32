package import LedgerClient
import LedgerCore

/// Executes parsed REPL commands against a server through `KaminoClient` and returns
/// the text to print.
package struct ReplSession: Sendable {
    package let client: KaminoClient

    package init(client: KaminoClient) { self.client = client }

    /// Runs one line; returns what to print, or nil for `exit`.
    package func run(line: String) async -> (output: String, ok: Bool)? {
        let command: ReplCommand
        do {
            command = try ReplParser.parse(line)
        } catch {
            return ("error: \(error)", false)
        }
        do {
            switch command {
            case .exit:
                return nil
            case .help:
                return (Self.help, true)
            case .createAccounts(let accounts):
                let results = try await client.createAccounts(accounts)
                return (ReplFormatter.createResults(results.map {
                    ($0.timestamp, ReplFormatter.snakeCase("\($0.status)"))
                }), true)
            case .createTransfers(let transfers):
                let results = try await client.createTransfers(transfers)
                return (ReplFormatter.createResults(results.map {
                    ($0.timestamp, ReplFormatter.snakeCase("\($0.status)"))
                }), true)
            case .lookupAccounts(let ids):
                return (try await client.lookupAccounts(ids).map(ReplFormatter.account).joined(separator: "\n"), true)
            case .lookupTransfers(let ids):
                return (try await client.lookupTransfers(ids).map(ReplFormatter.transfer).joined(separator: "\n"), true)
            case .getAccountTransfers(let filter):
                return (try await client.getAccountTransfers(filter).map(ReplFormatter.transfer).joined(separator: "\n"), true)
            case .getAccountBalances(let filter):
                return (try await client.getAccountBalances(filter).map(ReplFormatter.balance).joined(separator: "\n"), true)
            case .queryAccounts(let filter):
                return (try await client.queryAccounts(filter).map(ReplFormatter.account).joined(separator: "\n"), true)
            case .queryTransfers(let filter):
                return (try await client.queryTransfers(filter).map(ReplFormatter.transfer).joined(separator: "\n"), true)
            }
        } catch {
            return ("error: \(error)", false)
        }
    }

    package static let help = """
        Commands (one per line; `;` at the end is optional; objects separated by commas):
          create_accounts id=1 ledger=700 code=10 flags=debits_must_not_exceed_credits|history, id=2 ledger=700 code=10
          create_transfers id=1 debit_account_id=2 credit_account_id=1 amount=100 ledger=700 code=10 flags=pending timeout=60
          lookup_accounts id=1, id=2
          lookup_transfers id=1
          get_account_transfers account_id=1 limit=10 flags=debits|credits|reversed
          get_account_balances account_id=1 limit=10
          query_accounts ledger=700 limit=10
          query_transfers code=10 limit=10 flags=reversed
          help, exit
        Fields and flags are the reference's names (snake_case); numbers may use _ separators.
        """
}
