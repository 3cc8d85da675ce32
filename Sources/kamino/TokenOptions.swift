import ArgumentParser
import KaminoAuth
import LedgerClient

/// `--token` / `--token-file` of the client commands (`repl`, `bench`, `status`,
/// `promote`): the JWT presented to a server with authentication on (docs/security.md).
struct TokenOptions: ParsableArguments {
    @Option(help: "A JWT to authenticate with (or KAMINO_TOKEN); prefer --token-file, which keeps it out of the process list.")
    var token: String?

    @Option(help: "A file holding the JWT; read again on every (re)connect, so a refreshed file is picked up.")
    var tokenFile: String?

    func validate() throws {
        if token != nil && tokenFile != nil { throw ValidationError("--token and --token-file: give one") }
    }

    /// The client's token: the flag, the file (re-read on every connect), or
    /// `KAMINO_TOKEN`; nil when none is given.
    func clientToken() throws -> KaminoToken? {
        if let token { return .fixed(token) }
        if let path = tokenFile {
            _ = try Self.read(path)  // fail at start, not on the first connect
            return .provider { try Self.read(path) }
        }
        if let env = processEnvironment()["KAMINO_TOKEN"], !env.isEmpty { return .fixed(env) }
        return nil
    }

    /// The token a follower's `hello` carries: the flag, the file (re-read on every
    /// connection to the primary), or `KAMINO_TOKEN`; nil when none is given.
    func replicationToken() throws -> (@Sendable () throws -> [UInt8])? {
        if let token { return { Array(token.utf8) } }
        if let path = tokenFile {
            _ = try Self.read(path)  // fail at start, not on the first connect
            return { Array(try Self.read(path).utf8) }
        }
        if let env = processEnvironment()["KAMINO_TOKEN"], !env.isEmpty { return { Array(env.utf8) } }
        return nil
    }

    /// The token in `path`, without surrounding whitespace.
    static func read(_ path: String) throws -> String {
        let bytes: [UInt8]
        do { bytes = try TokenKeys.readFile(path) } catch { throw ValidationError("--token-file: \(error.detail)") }
        let text = String(decoding: bytes, as: UTF8.self).trimmed.replacing("\n", with: "")
        guard !text.isEmpty else { throw ValidationError("--token-file \(path) is empty") }
        return text
    }
}
