import ArgumentParser
import KaminoREPL
import LedgerClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `kamino repl`: an interactive client, or one-shot commands with `--command`.
struct Repl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a running server: create accounts and transfers, look them up.",
        discussion: ReplSession.help)

    @Option(help: "Server address HOST:PORT (or KAMINO_ADDRESS).")
    var address: String?

    @Option(name: .shortAndLong, help: "Run this command and exit (repeatable); without it, read commands from standard input.")
    var command: [String] = []

    func run() async throws {
        let target = address ?? getenv("KAMINO_ADDRESS").map { String(cString: $0) } ?? "127.0.0.1:4410"
        let client: KaminoClient
        do {
            client = try KaminoClient(addresses: [target])
        } catch {
            throw ValidationError("bad address '\(target)': \(error)")
        }
        let session = ReplSession(client: client)
        var failures = 0
        if !command.isEmpty {
            for line in command {
                guard let (output, ok) = await session.run(line: line) else { break }
                if !output.isEmpty { print(output) }
                if !ok { failures += 1 }
            }
        } else {
            let interactive = isatty(0) != 0
            if interactive { print("kamino repl: connected to \(target) (type help)") }
            while true {
                if interactive {
                    print("> ", terminator: "")
                    fflush(nil)
                }
                guard let line = readLine() else { break }
                if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                guard let (output, ok) = await session.run(line: line) else { break }
                if !output.isEmpty { print(output) }
                if !ok { failures += 1 }
            }
        }
        await client.close()
        if failures > 0 && !command.isEmpty { throw ExitCode(1) }
    }
}
