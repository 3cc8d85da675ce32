package import LedgerClient
import LedgerCore

/// Executes parsed REPL commands against a server through `KaminoClient` and returns
/// the text to print.
package struct ReplSession: Sendable {
    package let client: KaminoClient
    /// The server's `HOST:PORT`, for "cannot reach" messages.
    package let address: String

    package init(client: KaminoClient, address: String) {
        self.client = client
        self.address = address
    }

    /// The client's options for the REPL. Interactive, no circuit breaker: a person
    /// retries by hand, and every command tries to connect instead of being refused
    /// because earlier ones failed.
    package static func clientOptions(interactive: Bool) -> KaminoClientOptions {
        var options = KaminoClientOptions()
        if interactive { options.circuitBreaker = CircuitBreakerPolicy(failureThreshold: .max) }
        return options
    }

    /// The line an interactive session starts with, once the server answered a `status`
    /// request: `connected to HOST:PORT (ROLE)`; or, when it could not be reached, the
    /// error (`ok` false). Commands connect on their own either way.
    package func greeting() async -> (output: String, ok: Bool) {
        do {
            let status = try await client.status(at: ServerAddress(address))
            return ("connected to \(address)" + (Self.role(inStatus: status).map { " (\($0))" } ?? ""), true)
        } catch {
            return (ReplFormatter.clientError(error, address: address) + "; each command tries again", false)
        }
    }

    /// The `role` string of a `status` answer (docs/protocol.md, "Operations"), if any.
    static func role(inStatus json: String) -> String? {
        guard let key = json.firstRange(of: "\"role\"") else { return nil }
        let rest = json[key.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "\"" else { return nil }
        let value = rest.dropFirst().prefix { $0 != "\"" }
        return value.isEmpty ? nil : String(value)
    }

    /// Runs one line; returns what to print (on standard output when `ok`, on standard
    /// error otherwise), or nil for `exit`.
    package func run(line: String) async -> (output: String, ok: Bool)? {
        let command: ReplCommand
        do {
            command = try ReplParser.parse(line)
        } catch {
            return ("error: \(error)", false)
        }
        do {
            guard let output = try await execute(command) else { return nil }
            return (output.isEmpty ? "0 results" : output, true)
        } catch {
            return (ReplFormatter.clientError(error, address: address), false)
        }
    }

    /// The command's answer as text ("" when it has no records), or nil for `exit`.
    private func execute(_ command: ReplCommand) async throws(KaminoClientError) -> String? {
        switch command {
        case .exit:
            return nil
        case .help:
            return Self.help
        case .createAccounts(let accounts):
            let results = try await client.createAccounts(accounts)
            return ReplFormatter.createResults(results.map {
                ($0.timestamp, ReplFormatter.snakeCase("\($0.status)"))
            })
        case .createTransfers(let transfers):
            let results = try await client.createTransfers(transfers)
            return ReplFormatter.createResults(results.map {
                ($0.timestamp, ReplFormatter.snakeCase("\($0.status)"))
            })
        case .lookupAccounts(let ids):
            return try await client.lookupAccounts(ids).map(ReplFormatter.account).joined(separator: "\n")
        case .lookupTransfers(let ids):
            return try await client.lookupTransfers(ids).map(ReplFormatter.transfer).joined(separator: "\n")
        case .getAccountTransfers(let filter):
            return try await client.getAccountTransfers(filter).map(ReplFormatter.transfer).joined(separator: "\n")
        case .getAccountBalances(let filter):
            return try await client.getAccountBalances(filter).map(ReplFormatter.balance).joined(separator: "\n")
        case .queryAccounts(let filter):
            return try await client.queryAccounts(filter).map(ReplFormatter.account).joined(separator: "\n")
        case .queryTransfers(let filter):
            return try await client.queryTransfers(filter).map(ReplFormatter.transfer).joined(separator: "\n")
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
        Fields and flags are the reference's names (snake_case); numbers are decimal or 0x hex and may use _
        separators (1_000, 0xdead_beef). Errors name the object (counted from 0, like result indexes) and field.
        Interactive: arrows and Ctrl-R for history (kept in ~/.kamino_history), Tab completes names.
        """
}
