import ArgumentParser
import StressSupport

// kamino-walstress: crash-test and benchmark driver for LedgerStorage.
//   kamino-walstress stress DIR [--appenders N] [--segment-size BYTES] [--seconds S]
//   kamino-walstress bench DIR [--events N] [--concurrency N] [--seconds S]

/// The driver's command line: one subcommand per mode.
@main
struct WalStress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kamino-walstress",
        abstract: "Crash-test and benchmark driver for the write-ahead log.",
        subcommands: [StressCommand.self, BenchCommand.self])
}

/// `stress`: appenders log records until killed, printing an acknowledgement per durable LSN.
struct StressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress", abstract: "Append until killed (or --seconds), acknowledging durable LSNs.")

    @Argument(help: "The data directory.") var directory: String
    @Option(help: "Concurrent appenders, 1...4096.") var appenders = 32
    @Option(help: "Segment size in bytes, at least 4096.") var segmentSize = 1 << 20
    @Option(help: "How long to run, in seconds (positive).") var seconds = 10.0

    func validate() throws {
        guard (1...4096).contains(appenders) else { throw ValidationError("--appenders must be 1...4096") }
        guard segmentSize >= 4096 else { throw ValidationError("--segment-size must be at least 4096") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() async throws {
        let code = await Stress.run(directory: directory, appenders: appenders, segmentSize: segmentSize, seconds: seconds)
        if code != 0 { throw ExitCode(code) }
    }
}

/// `bench`: append throughput against the raw write + fdatasync bandwidth.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure append throughput against raw write + fdatasync.")

    @Argument(help: "The data directory.") var directory: String
    @Option(help: "Events per record, at least 1.") var events = 64
    @Option(help: "Concurrent appenders, 1...4096.") var concurrency = 64
    @Option(help: "How long each measurement runs, in seconds (positive).") var seconds = 3.0

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1") }
        guard (1...4096).contains(concurrency) else { throw ValidationError("--concurrency must be 1...4096") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() async throws {
        let code = await Bench.run(directory: directory, events: events, concurrency: concurrency, seconds: seconds)
        if code != 0 { throw ExitCode(code) }
    }
}

