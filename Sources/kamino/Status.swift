import ArgumentParser
import KaminoREPL
import LedgerBench
import LedgerClient

/// `kamino status`: a node's role, epoch, LSNs and followers (the `status` operation).
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a node's replication status: role, epoch, LSNs, and each follower's lag.")

    @Option(help: "The node's client address HOST:PORT.")
    var address: String = "127.0.0.1:4410"

    @Flag(help: "Print the node's JSON answer as it is.")
    var json = false

    @OptionGroup var tls: ClientTLSOptions

    @Flag(help: "Print the state digest of the node's ledger now and the LSN it covers instead (replicas at one LSN have one digest; reads the whole state).")
    var digest = false

    @OptionGroup var authentication: TokenOptions

    func run() async throws {
        let token = try authentication.clientToken()
        if digest {
            let answer = try await AdminCall.run(address: address, token: token, tls: tls.options) { (client) async throws(KaminoClientError) -> String in
                try await client.digest(at: ServerAddress(address))
            }
            guard !json, let parsed = JSONValue.parse(answer) else {
                print(answer)
                return
            }
            print("lsn: \(parsed["lsn"]?.shown ?? "-")")
            print("digest: \(parsed["digest"]?.shown ?? "-")")
            return
        }
        let answer = try await AdminCall.run(address: address, token: token, tls: tls.options) { (client) async throws(KaminoClientError) -> String in
            try await client.status(at: ServerAddress(address))
        }
        if json {
            print(answer)
            return
        }
        guard let status = JSONValue.parse(answer) else {
            throw exitFailure("error: \(address) answered a status that is not JSON: \(answer)")
        }
        print(Self.table(status))
    }

    /// The human view: one `key value` line per field (the common ones first), then one
    /// line per follower.
    static func table(_ status: JSONValue) -> String {
        var lines: [String] = []
        let first = ["role", "epoch", "last_lsn", "durable_lsn", "commit_lsn", "primary"]
        for key in first {
            lines.append(key.padding(12) + (status[key]?.shown ?? "-"))
        }
        // Then whatever else the node reports (mode, link, lag...), in its order.
        if case .object(let fields) = status {
            for (key, value) in fields where !first.contains(key) && key != "followers" {
                lines.append(key.padding(12) + value.shown)
            }
        }
        guard case .array(let followers)? = status["followers"], !followers.isEmpty else {
            lines.append("followers".padding(12) + "none")
            return lines.joined(separator: "\n")
        }
        let columns = ["node", "address", "state", "durable_lsn", "applied_lsn", "lag_lsn", "lag_seconds"]
        var rows = [columns]
        for f in followers { rows.append(columns.map { f[$0]?.shown ?? "-" }) }
        let widths = columns.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        lines.append("followers".padding(12) + "\(followers.count)")
        for row in rows {
            lines.append("  " + row.enumerated().map { $1.padding(widths[$0] + 2) }.joined())
        }
        return lines.joined(separator: "\n").split(separator: "\n").map { $0.trimmingTrailingSpaces }.joined(separator: "\n")
    }
}

/// `kamino promote`: makes a follower the primary (the `promote` operation).
struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the follower at --address the primary; prints its answer.")

    @Option(help: "The follower's client address HOST:PORT.")
    var address: String

    @OptionGroup var authentication: TokenOptions
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        print(try await AdminCall.run(address: address, token: try authentication.clientToken(), tls: tls.options) { (client) async throws(KaminoClientError) -> String in
            try await client.promote(at: ServerAddress(address))
        })
    }
}

/// One `status` or `promote` call: a client for the address, errors on stderr with exit 1.
enum AdminCall {
    static func run(
        address: String, token: KaminoToken? = nil, tls: KaminoTLSOptions? = nil, _ call: (KaminoClient) async throws(KaminoClientError) -> String
    ) async throws -> String {
        let client: KaminoClient
        do {
            var options = KaminoClientOptions(requestTimeout: .seconds(5), retry: .none)
            options.token = token
            options.tls = tls
            client = try KaminoClient(addresses: [address], options: options)
        } catch {
            throw exitFailure("error: bad address '\(address)': \(error.message)")
        }
        let result: Result<String, KaminoClientError>
        do {
            result = .success(try await call(client))
        } catch {
            result = .failure(error)
        }
        await client.close()
        switch result {
        case .success(let answer): return answer
        case .failure(let error): throw exitFailure(message(error, address: address))
        }
    }

    /// `error: HOST:PORT answered not_follower: <the node's text>` for an error reply;
    /// the REPL's wording (`cannot reach HOST:PORT ...`) otherwise.
    static func message(_ error: KaminoClientError, address: String) -> String {
        guard case .serverError(let code) = error.code else { return ReplFormatter.clientError(error, address: address) }
        var text = Substring(error.message)
        if let end = text.range(of: "(\(code)): ") { text = text[end.upperBound...] }
        return "error: \(address) answered \(code): \(text)"
    }
}

extension String {
    /// The string padded with spaces to `width` characters (never cut).
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

extension Substring {
    fileprivate var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

extension JSONValue {
    /// A value as one table cell: strings unquoted, `null` as `-`, the rest as JSON text.
    fileprivate var shown: String {
        switch self {
        case .string(let s): return s
        case .null: return "-"
        case .object, .array: return render().split(separator: "\n").map { $0.drop { $0 == " " } }.joined()
        default: return render()
        }
    }
}
