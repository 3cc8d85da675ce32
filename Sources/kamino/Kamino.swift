import ArgumentParser

/// The `kamino` command line: argument parsing and wiring only.
@main
struct Kamino: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kamino",
        abstract: "Kamino: a double-entry ledger server.",
        subcommands: [Demo.self, Wal.self],
        defaultSubcommand: Demo.self
    )
}
