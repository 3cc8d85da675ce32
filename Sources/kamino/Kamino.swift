import ArgumentParser

/// The `kamino` command line: argument parsing and wiring only.
@main
struct Kamino: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kamino",
        abstract: "Kamino: a double-entry ledger server.",
        version: KaminoVersion.description,
        subcommands: [Serve.self, Follow.self, Repl.self, Status.self, Promote.self, Demo.self, Wal.self, Cdc.self, Bench.self],
        defaultSubcommand: Serve.self
    )
}
