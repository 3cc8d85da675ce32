import ArgumentParser
import KaminoREPL
import LedgerClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `kamino repl`: an interactive client (line editing, history, completion), or
/// commands read from a pipe or given with `--command`.
///
/// Answers go to standard output, errors to standard error; piped and `--command` runs
/// exit with 1 when any command failed.
struct Repl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a running server: create accounts and transfers, look them up.",
        discussion: ReplSession.help)

    @Option(help: "Server address HOST:PORT (or KAMINO_ADDRESS).")
    var address: String?

    @Option(name: .shortAndLong, help: "Run this command and exit (repeatable); without it, read commands from standard input.")
    var command: [String] = []

    @OptionGroup var authentication: TokenOptions
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let target = address ?? getenv("KAMINO_ADDRESS").map { String(cString: $0) } ?? "127.0.0.1:4410"
        let interactive = command.isEmpty && isatty(0) != 0
        var options = ReplSession.clientOptions(interactive: interactive)
        options.token = try authentication.clientToken()
        let client: KaminoClient
        do {
            options.tls = tls.options
            client = try KaminoClient(addresses: [target], options: options)
        } catch {
            throw ValidationError("bad address '\(target)': \(error.message)")
        }
        let session = ReplSession(client: client, address: target)
        var failures = 0
        if !command.isEmpty {
            for line in command {
                guard let (output, ok) = await session.run(line: line) else { break }
                Self.emit(output, ok: ok)
                if !ok { failures += 1 }
            }
        } else if interactive {
            print("kamino repl for \(target): type help; Tab completes, arrows recall history")
            let (greeting, reached) = await session.greeting()
            Self.emit(greeting, ok: reached)
            LineEditor.open(historyPath: LineEditor.defaultHistoryPath)
            while let line = LineEditor.read(prompt: "> ") {
                if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                LineEditor.remember(line)
                guard let (output, ok) = await session.run(line: line) else { break }
                Self.emit(output, ok: ok)
            }
        } else {
            while let line = readLine() {
                if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                guard let (output, ok) = await session.run(line: line) else { break }
                Self.emit(output, ok: ok)
                if !ok { failures += 1 }
            }
        }
        await client.close()
        if failures > 0 { throw ExitCode(1) }
    }

    /// Answers on standard output, errors on standard error.
    private static func emit(_ output: String, ok: Bool) {
        if ok {
            print(output)
        } else {
            fflush(nil)  // answers printed so far come first
            var bytes = Array((output + "\n").utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }  // stderr is gone: nothing more to tell
                bytes = bytes.dropFirst(n)
            }
        }
    }
}
