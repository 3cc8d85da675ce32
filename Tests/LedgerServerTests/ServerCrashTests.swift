import KaminoTestSupport
import Glibc
import LedgerClient
import LedgerCore
import LedgerWorkload
import Synchronization
import Testing

/// A transfer whose create the server acknowledged with `created` or `exists`: what was
/// sent (posts and voids name their accounts and amount in full), the status and the
/// timestamp of the reply.
struct AcknowledgedTransfer: Sendable {
    var transfer: Transfer
    var status: CreateTransferStatus
    var timestamp: UInt64
}

/// Set once, when the server has been killed: load workers stop at their next call.
final class KillSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Marks the server as killed.
    func set() { flag.store(true, ordering: .releasing) }

    /// True once `set()` was called.
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// The accounts of the crash test: per ledger (1 and 2) one bank account without limits
/// and eight customers, half of them with `debits_must_not_exceed_credits`, funded by the
/// bank before the load starts.
enum CrashBook {
    static let ledgers: [UInt32] = [1, 2]
    static let customersPerLedger = 8
    static let funding: UInt128 = 3_000

    static func bank(_ ledger: UInt32) -> UInt128 { UInt128(ledger) * 1_000 + 1 }
    static func customer(_ ledger: UInt32, _ index: Int) -> UInt128 { UInt128(ledger) * 1_000 + 10 + UInt128(index) }
    static func isLimited(_ index: Int) -> Bool { index % 2 == 0 }

    static var accounts: [Account] {
        ledgers.flatMap { l in
            [Account(id: bank(l), ledger: l, code: 1)]
                + (0..<customersPerLedger).map { i in
                    Account(id: customer(l, i), ledger: l, code: 2, flags: isLimited(i) ? .debitsMustNotExceedCredits : [])
                }
        }
    }

    static var accountIds: [UInt128] { accounts.map(\.id) }

    /// Bank to every customer; ids below 2^64 (load ids are above).
    static var fundingTransfers: [Transfer] {
        ledgers.flatMap { l in
            (0..<customersPerLedger).map { i in
                Transfer(id: UInt128(l) << 32 | UInt128(i + 1), debitAccountId: bank(l), creditAccountId: customer(l, i),
                         amount: funding, ledger: l, code: 1)
            }
        }
    }
}

/// What one load worker saw during one round.
struct WorkerOutcome: Sendable {
    var acknowledged: [AcknowledgedTransfer] = []
    /// Events the server answered with another status (for example `exceeds_credits`).
    var rejectedEvents = 0
    /// Client errors (by code) before and after the kill.
    var errorsBeforeKill: [String: Int] = [:]
    var errorsAfterKill: [String: Int] = [:]
}

/// One load worker: single transfers, small batches, pending + post/void and linked
/// pairs, with fresh ids, until the server is killed.
struct LoadWorker {
    let client: KaminoClient
    let killed: KillSignal
    let round: Int
    let worker: Int
    private var sequence: UInt128 = 0
    private(set) var outcome = WorkerOutcome()

    init(client: KaminoClient, killed: KillSignal, round: Int, worker: Int) {
        self.client = client
        self.killed = killed
        self.round = round
        self.worker = worker
    }

    /// A transfer id never used before: round, worker and sequence above 2^64.
    private mutating func freshId() -> UInt128 {
        sequence += 1
        return UInt128(round + 1) << 64 | UInt128(worker) << 40 | sequence
    }

    /// Two different customers of one ledger.
    private func pair() -> (debit: UInt128, credit: UInt128, ledger: UInt32) {
        let ledger = CrashBook.ledgers.randomElement() ?? 1
        let a = Int.random(in: 0..<CrashBook.customersPerLedger)
        let b = (a + Int.random(in: 1..<CrashBook.customersPerLedger)) % CrashBook.customersPerLedger
        return (CrashBook.customer(ledger, a), CrashBook.customer(ledger, b), ledger)
    }

    private mutating func plain(flags: TransferFlags = []) -> Transfer {
        let (debit, credit, ledger) = pair()
        return Transfer(id: freshId(), debitAccountId: debit, creditAccountId: credit,
                        amount: UInt128(Int.random(in: 1...400)), ledger: ledger, code: 7, flags: flags)
    }

    /// Sends `batch`; records the acknowledged events and returns the statuses, or nil on
    /// a client error.
    private mutating func send(_ batch: [Transfer]) async -> [CreateTransferStatus]? {
        let results: [CreateTransferResult]
        do {
            results = try await client.createTransfers(batch)
        } catch {
            let key = "\(error.code)"
            if killed.isSet {
                outcome.errorsAfterKill[key, default: 0] += 1
            } else {
                outcome.errorsBeforeKill[key, default: 0] += 1
            }
            return nil
        }
        for (t, r) in zip(batch, results) {
            if r.status == .created || r.status == .exists {
                outcome.acknowledged.append(AcknowledgedTransfer(transfer: t, status: r.status, timestamp: r.timestamp))
            } else {
                outcome.rejectedEvents += 1
            }
        }
        return results.map(\.status)
    }

    /// Runs until the kill.
    mutating func run() async {
        while !killed.isSet {
            switch Int.random(in: 0..<10) {
            case 0..<3:
                _ = await send([plain()])
            case 3..<5:
                _ = await send((0..<Int.random(in: 2...12)).map { _ in plain() })
            case 5..<8:
                let pending = plain(flags: .pending)
                guard let s = await send([pending]), s.first == .created || s.first == .exists else { continue }
                let roll = Int.random(in: 0..<10)
                if roll < 2 { continue }  // left pending
                let isPost = roll < 6
                let amount = isPost && Bool.random() ? UInt128.random(in: 1...pending.amount) : pending.amount
                _ = await send([Transfer(
                    id: freshId(), debitAccountId: pending.debitAccountId, creditAccountId: pending.creditAccountId,
                    amount: amount, pendingId: pending.id, ledger: pending.ledger, code: pending.code,
                    flags: isPost ? .postPendingTransfer : .voidPendingTransfer)])
            default:
                // A linked pair on one ledger, a to b then b to c: both or neither.
                let ledger = CrashBook.ledgers.randomElement() ?? 1
                let picked = (0..<CrashBook.customersPerLedger).shuffled().prefix(3).map { CrashBook.customer(ledger, $0) }
                let first = Transfer(id: freshId(), debitAccountId: picked[0], creditAccountId: picked[1],
                                     amount: UInt128(Int.random(in: 1...400)), ledger: ledger, code: 8, flags: .linked)
                let second = Transfer(id: freshId(), debitAccountId: picked[1], creditAccountId: picked[2],
                                      amount: UInt128(Int.random(in: 1...400)), ledger: ledger, code: 8)
                _ = await send([first, second])
            }
        }
    }
}

/// Looks up every acknowledged transfer and (once created) every account through a fresh
/// client and returns (acknowledged transfers not found, other problems).
func verifyServer(
    port: UInt16, acknowledged: [AcknowledgedTransfer], accountsCreated: Bool
) async -> (lost: [UInt128], problems: [String]) {
    let client: KaminoClient
    do {
        client = try KaminoClient(
            addresses: ["127.0.0.1:\(port)"], options: KaminoClientOptions(requestTimeout: .seconds(10)))
    } catch {
        return ([], ["no client: \(error)"])
    }
    let result = await verify(client, acknowledged, accountsCreated: accountsCreated)
    await client.close()
    return result
}

private func verify(
    _ client: KaminoClient, _ acknowledged: [AcknowledgedTransfer], accountsCreated: Bool
) async -> (lost: [UInt128], problems: [String]) {
    var lost: [UInt128] = []
    var problems: [String] = []
    var start = 0
    while start < acknowledged.count {
        let chunk = acknowledged[start..<min(start + 4_000, acknowledged.count)]
        start += chunk.count
        let found: [Transfer]
        do {
            found = try await client.lookupTransfers(chunk.map(\.transfer.id))
        } catch {
            return (lost, problems + ["lookup_transfers failed: \(error)"])
        }
        let byId = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for ack in chunk {
            let sent = ack.transfer
            guard let stored = byId[sent.id] else {
                lost.append(sent.id)
                continue
            }
            if stored.amount != sent.amount || stored.debitAccountId != sent.debitAccountId
                || stored.creditAccountId != sent.creditAccountId || stored.ledger != sent.ledger
                || stored.pendingId != sent.pendingId || stored.flags != sent.flags
                || stored.timestamp != ack.timestamp {
                problems.append(
                    "transfer \(sent.id) (\(ack.status)) differs: sent \(sent), acknowledged at \(ack.timestamp), stored \(stored)")
            }
        }
    }
    guard accountsCreated else { return (lost, problems) }
    do {
        let accounts = try await client.lookupAccounts(CrashBook.accountIds)
        if accounts.count != CrashBook.accountIds.count {
            problems.append("\(accounts.count) of \(CrashBook.accountIds.count) accounts found")
        }
        problems += moneyInvariantViolations(accounts)
    } catch {
        problems.append("lookup_accounts failed: \(error)")
    }
    return (lost, problems)
}

/// The names in a directory (empty if it cannot be read).
func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

@Suite("kamino serve kill -9 under client load", .serialized)
struct ServerCrashTests {
    /// Rounds on one data directory: start `kamino serve` (snapshots every few records,
    /// so recovery replays snapshot + log tail), check that every transfer acknowledged so
    /// far is there unchanged and the money invariants hold, drive it from several
    /// concurrent `KaminoClient` tasks, SIGKILL it 0.2–1.0 s into the load. Client errors
    /// around the kill are expected; only lost or changed acknowledged transfers and
    /// broken invariants fail the test.
    @Test func sigkillUnderClientLoadLosesNoAcknowledgedTransfer() async throws {
        let kills = 12
        let workers = 6
        let dir = temporaryDataDir("crash")
        defer { removeDataDir(dir) }
        var server: ServerProcess?
        defer { server?.killHard() }  // always, also when a check fails

        let loadOptions = KaminoClientOptions(
            requestTimeout: .seconds(3), connectTimeout: .milliseconds(500),
            retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100)),
            circuitBreaker: CircuitBreakerPolicy(failureThreshold: 2, coolDown: .seconds(30)))
        var acknowledged: [AcknowledgedTransfer] = []
        var rejected = 0
        var errorsBefore: [String: Int] = [:]
        var errorsAfter: [String: Int] = [:]
        var lostTotal = 0
        var killed = 0
        var restartsFromSnapshot = 0
        let began = monotonicSeconds()

        for round in 0...kills {
            server = nil  // the previous one is dead already
            if directoryEntries(dir).contains(where: { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }) {
                restartsFromSnapshot += 1
            }
            let started = ServerProcess.start(dataDir: dir, extra: ["--snapshot-every", "25"])
            server = started
            let current = try #require(started, """
                round \(round): kamino serve did not start on \(dir):
                \(String(decoding: fileBytes(dir + ".out"), as: UTF8.self))
                """)

            // After each kill: everything acknowledged before it is back, unchanged.
            let (lost, problems) = await verifyServer(
                port: current.port, acknowledged: acknowledged, accountsCreated: round > 0)
            lostTotal += lost.count
            #expect(lost.isEmpty,
                    "round \(round): \(lost.count) of \(acknowledged.count) acknowledged transfers lost, e.g. \(lost.prefix(5))")
            #expect(problems.isEmpty, "round \(round): \(problems.prefix(5))")
            if !lost.isEmpty || !problems.isEmpty { break }
            if round == kills { break }

            if round == 0 {
                let setup = try KaminoClient(addresses: ["127.0.0.1:\(current.port)"])
                let made = try await setup.createAccounts(CrashBook.accounts)
                #expect(made.allSatisfy { $0.status == .created || $0.status == .exists },
                        "accounts: \(made.map(\.status))")
                let funding = CrashBook.fundingTransfers
                let funded = try await setup.createTransfers(funding)
                for (t, r) in zip(funding, funded) {
                    #expect(r.status == .created || r.status == .exists, "funding \(t.id): \(r.status)")
                    if r.status == .created || r.status == .exists {
                        acknowledged.append(AcknowledgedTransfer(transfer: t, status: r.status, timestamp: r.timestamp))
                    }
                }
                await setup.close()
            }

            let client = try KaminoClient(addresses: ["127.0.0.1:\(current.port)"], options: loadOptions)
            let signal = KillSignal()
            let load = Task { () -> [WorkerOutcome] in
                await withTaskGroup(of: WorkerOutcome.self) { group in
                    for w in 0..<workers {
                        group.addTask {
                            var worker = LoadWorker(client: client, killed: signal, round: round, worker: w)
                            await worker.run()
                            return worker.outcome
                        }
                    }
                    var all: [WorkerOutcome] = []
                    for await o in group { all.append(o) }
                    return all
                }
            }
            // Nothing may throw until the signal is set, or the workers would never stop.
            try? await Task.sleep(for: .milliseconds(Int.random(in: 200...1_000)))
            signal.set()  // errors from here on are expected; requests in flight stay in flight
            let diedOfKill = current.killHard()
            #expect(diedOfKill, "round \(round): the server had exited before the kill:\n\(current.output)")
            killed += 1
            for o in await load.value {
                acknowledged += o.acknowledged
                rejected += o.rejectedEvents
                errorsBefore.merge(o.errorsBeforeKill, uniquingKeysWith: +)
                errorsAfter.merge(o.errorsAfterKill, uniquingKeysWith: +)
            }
            await client.close()
        }
        if let last = server {
            #expect(last.terminate(timeout: 10) == 0,
                    "the last server did not stop cleanly on SIGTERM:\n\(last.output)")
        }

        let transfers = acknowledged.map(\.transfer)
        let kinds = (pending: transfers.filter { $0.flags.contains(.pending) }.count,
                     posted: transfers.filter { $0.flags.contains(.postPendingTransfer) }.count,
                     voided: transfers.filter { $0.flags.contains(.voidPendingTransfer) }.count,
                     linked: transfers.filter { $0.flags.contains(.linked) }.count)
        let tenths = Int((monotonicSeconds() - began) * 10)
        let exists = acknowledged.filter { $0.status == .exists }.count
        #expect(acknowledged.count > 50 * kills, "too little load to mean anything: \(acknowledged.count) acknowledged")
        #expect(kinds.pending > 0 && kinds.posted > 0 && kinds.voided > 0 && kinds.linked > 0, "\(kinds)")
        #expect(restartsFromSnapshot > 0, "no restart found a snapshot: recovery only replayed the log")
        let describe = { (errors: [String: Int]) in errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" } }
        print("server crash test: \(killed) kills, \(acknowledged.count) acknowledged transfers, \(lostTotal) lost "
            + "(\(exists) acknowledged as exists; \(kinds); \(rejected) events rejected by the ledger; "
            + "\(restartsFromSnapshot) restarts with a snapshot; client errors before kills \(describe(errorsBefore)), "
            + "after kills \(describe(errorsAfter)); \(tenths / 10).\(tenths % 10) s)")
    }
}
