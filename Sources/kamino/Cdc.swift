import ArgumentParser
import Glibc
import LedgerBench
import LedgerClient
import LedgerEngine

/// `kamino cdc`: the change stream of a data directory, one JSON line per committed event
/// (docs/cdc.md). Reads the directory only, beside a live server if one runs.
struct Cdc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the committed events of a data directory as JSON lines, resumable (docs/cdc.md).",
        discussion: """
            Rebuilds the state at --from (newest snapshot at or below it, then the log) and prints one \
            JSON line per event of every record after it, in log order. Resume by passing the last \
            `lsn` fully processed as --from. With --address, only records up to the server's \
            commit_lsn are printed; with --follow it keeps polling for new ones. Exit status: 0 at \
            the end (or on SIGINT/SIGTERM), 2 when the records after --from are gone, 1 on other errors.
            """)

    @Option(help: "The data directory (read-only; default ./wal/data).")
    var data: String = ServeSettings.defaultData

    @Option(help: "Print the events of the records after this LSN (0: from the start of the log).")
    var from: UInt64 = 0

    @Option(help: "The client address HOST:PORT of the server writing --data: print nothing beyond its commit_lsn.")
    var address: String?

    @Flag(help: "Keep running: poll the server at --address and print new records as they are committed.")
    var follow = false

    @Option(name: .customLong("poll-ms"), help: "With --follow: milliseconds between two polls of the server's status.")
    var pollMilliseconds = 200

    @OptionGroup var tls: ClientTLSOptions
    @OptionGroup var authentication: TokenOptions

    func validate() throws {
        if follow && address == nil { throw ValidationError("--follow needs --address (the server's commit_lsn bounds what is printed)") }
        guard (10...60_000).contains(pollMilliseconds) else { throw ValidationError("--poll-ms must be between 10 and 60000") }
    }

    func run() async throws {
        let stream: ChangeStream
        do throws(ChangeStream.Failure) {
            stream = try ChangeStream(directory: data, from: from)
        } catch {
            writeLine("error: \(error)", to: 2)
            throw ExitCode(error.code == .unavailable ? 2 : 1)
        }
        writeLine(
            "cdc: state at LSN \(stream.appliedLSN) rebuilt from "
                + (stream.snapshotLSN.map { "snapshot LSN \($0) and the log" } ?? "the log alone")
                + "; printing the events of the records after LSN \(from)", to: 2)
        // From here on a signal stops the stream between two records; before, nothing was printed.
        CdcSignal.install()
        var output = LineOutput()

        guard let address else {
            try advance(stream, through: stream.endAtOpen, output: &output)
            return
        }
        let token = try authentication.clientToken()
        let client: KaminoClient
        do {
            var options = KaminoClientOptions(requestTimeout: .seconds(5), retry: .none)
            options.token = token
            options.tls = tls.options
            client = try KaminoClient(addresses: [address], options: options)
        } catch {
            throw exitFailure("error: bad address '\(address)': \(error.message)")
        }
        let result: Result<Void, any Error>
        do {
            try await publish(stream, client: client, address: address, output: &output)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        await client.close()
        try result.get()
    }

    /// Prints records up to the server's commit_lsn: once, or (`--follow`) poll after poll
    /// until a signal.
    private func publish(_ stream: ChangeStream, client: KaminoClient, address: String, output: inout LineOutput) async throws {
        var failing = false
        while CdcSignal.caught == nil {
            let commit: UInt64
            do {
                commit = try await commitLSN(client, address: address)
                if failing { writeLine("cdc: \(address) answers again", to: 2) }
                failing = false
            } catch {
                guard follow else { throw exitFailure("error: \(error)") }
                if !failing { writeLine("cdc: \(error); polling again every \(pollMilliseconds) ms", to: 2) }
                failing = true
                await pause()
                continue
            }
            try advance(stream, through: commit, output: &output)
            guard follow else { return }
            await pause()
        }
    }

    /// Waits `--poll-ms`, in slices of at most 50 ms so that a signal stops the wait.
    private func pause() async {
        var left = pollMilliseconds
        while left > 0, CdcSignal.caught == nil {
            let slice = min(left, 50)
            try? await Task.sleep(for: .milliseconds(slice))
            left -= slice
        }
    }

    /// The last LSN that may be published: the server's `commit_lsn`, and no further than its
    /// `durable_lsn` (a follower may know of commits it has not logged yet) (the `status`
    /// operation).
    private func commitLSN(_ client: KaminoClient, address: String) async throws -> UInt64 {
        let answer: String
        do {
            answer = try await client.status(at: ServerAddress(address))
        } catch {
            let message = AdminCall.message(error, address: address)
            throw CdcError(message.hasPrefix("error: ") ? String(message.dropFirst(7)) : message)
        }
        let status = JSONValue.parse(answer)
        guard case .int(let commit)? = status?["commit_lsn"], case .int(let durable)? = status?["durable_lsn"],
            commit >= 0, durable >= 0
        else {
            throw CdcError("\(address) answered a status without commit_lsn and durable_lsn: \(answer)")
        }
        return UInt64(min(commit, durable))
    }

    /// Applies and prints the records up to `last`; stops early on a signal.
    private func advance(_ stream: ChangeStream, through last: UInt64, output: inout LineOutput) throws {
        do throws(ChangeStream.Failure) {
            try stream.advance(through: last) { _, events in
                for event in events { output.append(event) }
                guard output.flush() else { return false }
                return CdcSignal.caught == nil
            }
        } catch {
            throw exitFailure("error: \(error)")
        }
        if output.failed { throw exitFailure("error: cannot write to stdout (errno \(output.errorNumber))") }
    }
}

/// A failure of `kamino cdc` outside the stream (the server's status), with its message
/// (without an `error: ` prefix).
private struct CdcError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Lines for stdout, written together once a record's events are all there (one write per
/// record, looping over short writes), so a consumer never waits for a line held in a
/// buffer and never sees part of a record before a stop.
private struct LineOutput {
    private var pending: [UInt8] = []
    private(set) var failed = false
    private(set) var errorNumber: Int32 = 0

    mutating func append(_ event: ChangeEvent) {
        event.appendJSON(to: &pending)
        pending.append(UInt8(ascii: "\n"))
    }

    /// Writes what is pending; false (and `failed`) when stdout refuses it.
    mutating func flush() -> Bool {
        var offset = 0
        while offset < pending.count {
            let n = pending[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                failed = true
                errorNumber = errno
                return false
            }
            offset += n
        }
        pending.removeAll(keepingCapacity: true)
        return true
    }
}
