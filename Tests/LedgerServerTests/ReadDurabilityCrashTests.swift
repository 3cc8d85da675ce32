import KaminoTestSupport
import Glibc
import LedgerClient
import LedgerCore
import Synchronization
import Testing

/// An account's balances as a read showed them.
struct ObservedBalances: Hashable, Sendable {
    var debitsPending: UInt128
    var debitsPosted: UInt128
    var creditsPending: UInt128
    var creditsPosted: UInt128

    init(_ a: Account) {
        debitsPending = a.debitsPending
        debitsPosted = a.debitsPosted
        creditsPending = a.creditsPending
        creditsPosted = a.creditsPosted
    }

    init(debitsPosted: UInt128, creditsPosted: UInt128) {
        debitsPending = 0
        self.debitsPosted = debitsPosted
        creditsPending = 0
        self.creditsPosted = creditsPosted
    }
}

/// Everything the readers were shown, and the ids the writers sent (for lookups).
final class ReadLog: Sendable {
    private struct State {
        var transfers: Set<UInt128> = []
        var accounts: [UInt128: Set<ObservedBalances>] = [:]
        var recentlySent: [UInt128] = []
        var reads = 0
    }
    private let state = Mutex(State())

    /// Remembers an id a writer is about to send (the last 64 are kept).
    func sent(_ id: UInt128) {
        state.withLock { s in
            s.recentlySent.append(id)
            if s.recentlySent.count > 64 { s.recentlySent.removeFirst(s.recentlySent.count - 64) }
        }
    }

    var recentlySent: [UInt128] { state.withLock { $0.recentlySent } }

    func saw(transfers: [Transfer]) {
        state.withLock { s in
            s.reads += 1
            for t in transfers { s.transfers.insert(t.id) }
        }
    }

    func saw(accounts: [Account]) {
        state.withLock { s in
            s.reads += 1
            for a in accounts { s.accounts[a.id, default: []].insert(ObservedBalances(a)) }
        }
    }

    var observed: (transfers: Set<UInt128>, accounts: [UInt128: Set<ObservedBalances>], reads: Int) {
        state.withLock { ($0.transfers, $0.accounts, $0.reads) }
    }
}

/// The accounts of the read test: ledger 1, no limits, so any plain transfer succeeds.
enum ReadBook {
    static let ids: [UInt128] = (1...6).map { 500 + UInt128($0) }
    static var accounts: [Account] { ids.map { Account(id: $0, ledger: 1, code: 1) } }
}

@Suite("reads never show what a kill -9 takes back", .serialized)
struct ReadDurabilityCrashTests {
    /// Rounds on one data directory: writers create plain transfers on several connections
    /// while readers look up accounts, transfers just sent and accounts' newest transfers
    /// (reads that are answered at once when they hold nothing newer than the durable log,
    /// and wait otherwise); the server is killed with SIGKILL 0.3–1.0 s in. After each
    /// restart, every transfer a read ever returned must exist, and every account state a
    /// read returned must be one the recovered log passes through: balances after some
    /// prefix of the account's recovered transfers (only posted amounts rise, so a state
    /// built on a lost transfer is beyond every recovered prefix).
    @Test func readsShowOnlyWhatSurvivesAKill() async throws {
        let kills = 5
        let writers = 3
        let readers = 3
        let dir = temporaryDataDir("reads")
        defer { removeDataDir(dir) }
        var server: ServerProcess?
        defer { server?.killHard() }
        let options = KaminoClientOptions(
            requestTimeout: .seconds(3), connectTimeout: .milliseconds(500),
            retry: RetryPolicy(maxAttempts: 1, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100)),
            circuitBreaker: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .seconds(30)))
        let log = ReadLog()
        var acknowledged = 0

        for round in 0...kills {
            server = nil
            let started = ServerProcess.start(dataDir: dir)
            server = started
            let startupOutput = String(decoding: fileBytes(dir + ".out"), as: UTF8.self)
            let current = try #require(started, "round \(round): kamino serve did not start:\n\(startupOutput)")
            let problems = await Self.check(port: current.port, log.observed)
            #expect(problems.isEmpty, "round \(round): reads showed what the kill took back: \(problems.prefix(8))")
            if !problems.isEmpty || round == kills { break }
            if round == 0 {
                let setup = try KaminoClient(addresses: ["127.0.0.1:\(current.port)"])
                let made: [CreateAccountResult] = try await setup.createAccounts(ReadBook.accounts)
                #expect(made.allSatisfy { $0.status == .created }, "\(made.map { $0.status })")
                await setup.close()
            }

            let signal = KillSignal()
            var clients: [KaminoClient] = []
            for _ in 0..<(writers + readers) {
                clients.append(try KaminoClient(addresses: ["127.0.0.1:\(current.port)"], options: options))
            }
            let load = Task { [clients] () -> Int in
                await withTaskGroup(of: Int.self) { group in
                    for w in 0..<writers {
                        group.addTask { await Self.write(clients[w], round: round, worker: w, log: log, until: signal) }
                    }
                    for r in 0..<readers {
                        group.addTask { await Self.read(clients[writers + r], log: log, until: signal) }
                    }
                    var total = 0
                    for await n in group { total += n }
                    return total
                }
            }
            let before = log.observed
            try? await Task.sleep(for: .milliseconds(Int.random(in: 300...1_000)))
            // On a loaded machine (a parallel test run) a round can end before it read
            // anything: it goes on until it did, for at most 10 s more.
            for _ in 0..<200 {
                let now = log.observed
                if now.reads - before.reads >= 30 && now.transfers.count - before.transfers.count >= 30 { break }
                try? await Task.sleep(for: .milliseconds(50))
            }
            signal.set()
            #expect(current.killHard(), "round \(round): the server had exited before the kill:\n\(current.output)")
            acknowledged += await load.value
            for c in clients { await c.close() }
        }
        if let last = server {
            let stopped = last.terminate(timeout: 10)
            #expect(stopped == 0, "the last server did not stop cleanly:\n\(last.output)")
        }
        let (transfers, accounts, reads) = log.observed
        let states = accounts.values.reduce(0) { $0 + $1.count }
        #expect(reads > 100 && transfers.count > 100 && states > 20,
                "too few reads to mean anything: \(reads) reads, \(transfers.count) transfers, \(states) account states")
        print("read durability crash test: \(kills) kills, \(acknowledged) transfers acknowledged, \(reads) reads "
            + "showed \(transfers.count) transfers and \(states) account states")
    }

    /// Sends single transfers and small batches between random accounts until `signal`;
    /// returns how many were acknowledged created.
    static func write(_ client: KaminoClient, round: Int, worker: Int, log: ReadLog, until signal: KillSignal) async -> Int {
        var sequence: UInt128 = 0
        var created = 0
        while !signal.isSet {
            let batch = (0..<(Bool.random() ? 1 : Int.random(in: 2...8))).map { _ -> Transfer in
                sequence += 1
                let id = UInt128(round + 1) << 64 | UInt128(worker) << 40 | sequence
                let a = Int.random(in: 0..<ReadBook.ids.count)
                let b = (a + Int.random(in: 1..<ReadBook.ids.count)) % ReadBook.ids.count
                return Transfer(id: id, debitAccountId: ReadBook.ids[a], creditAccountId: ReadBook.ids[b],
                                amount: UInt128(Int.random(in: 1...100)), ledger: 1, code: 1)
            }
            for t in batch { log.sent(t.id) }
            guard let results = try? await client.createTransfers(batch) else { continue }
            created += results.filter { $0.status == .created }.count
        }
        return created
    }

    /// Reads until `signal`: all accounts, an account's newest transfers, or the transfers
    /// just sent; records what each answer showed. Returns 0 (it acknowledges nothing).
    static func read(_ client: KaminoClient, log: ReadLog, until signal: KillSignal) async -> Int {
        while !signal.isSet {
            switch Int.random(in: 0..<3) {
            case 0:
                if let found = try? await client.lookupAccounts(ReadBook.ids) { log.saw(accounts: found) }
            case 1:
                let id = ReadBook.ids.randomElement() ?? ReadBook.ids[0]
                let filter = AccountFilter(accountId: id, limit: 8, flags: [.debits, .credits, .reversed])
                if let found = try? await client.getAccountTransfers(filter) { log.saw(transfers: found) }
            default:
                if let found = try? await client.lookupTransfers(log.recentlySent) { log.saw(transfers: found) }
            }
        }
        return 0
    }

    /// What a restarted server contradicts of `observed`: transfers missing, and account
    /// states no prefix of the account's recovered transfers produces.
    static func check(
        port: UInt16, _ observed: (transfers: Set<UInt128>, accounts: [UInt128: Set<ObservedBalances>], reads: Int)
    ) async -> [String] {
        guard let client = try? KaminoClient(
            addresses: ["127.0.0.1:\(port)"], options: KaminoClientOptions(requestTimeout: .seconds(10)))
        else { return ["no client"] }
        let problems = await contradictions(client, observed)
        await client.close()
        return problems
    }

    /// `check` on a connected client.
    private static func contradictions(
        _ client: KaminoClient, _ observed: (transfers: Set<UInt128>, accounts: [UInt128: Set<ObservedBalances>], reads: Int)
    ) async -> [String] {
        var problems: [String] = []
        let ids = Array(observed.transfers)
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + 4_000, ids.count)])
            start += chunk.count
            guard let found = try? await client.lookupTransfers(chunk) else { return problems + ["lookup_transfers failed"] }
            let present = Set(found.map(\.id))
            for id in chunk where !present.contains(id) { problems.append("transfer \(id) was read but is gone") }
        }
        for (account, states) in observed.accounts {
            // The account's states through its recovered transfers, oldest first.
            var reachable: Set<ObservedBalances> = [ObservedBalances(debitsPosted: 0, creditsPosted: 0)]
            var debits: UInt128 = 0, credits: UInt128 = 0
            var after: UInt64 = 0
            while true {
                let filter = AccountFilter(accountId: account, timestampMin: after + 1, limit: 8_000)
                guard let page = try? await client.getAccountTransfers(filter) else {
                    return problems + ["get_account_transfers failed"]
                }
                for t in page {
                    if t.debitAccountId == account { debits += t.amount }
                    if t.creditAccountId == account { credits += t.amount }
                    reachable.insert(ObservedBalances(debitsPosted: debits, creditsPosted: credits))
                }
                guard let last = page.last, page.count == 8_000 else { break }
                after = last.timestamp
            }
            for s in states where !reachable.contains(s) {
                problems.append("account \(account) was read at \(s), which the recovered log never reaches "
                    + "(it ends at debits \(debits), credits \(credits))")
            }
        }
        return problems
    }
}
