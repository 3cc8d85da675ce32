import KaminoTestSupport
import LedgerClient
import LedgerCore
import Synchronization

/// Continuous write load on a cluster with automatic failover, through one `KaminoClient`
/// per node (one address each, no retries), so that every acknowledgement is attributed
/// to the node that gave it: each worker sends batches of ~50 transfers between the
/// customers of `ClusterBook` to the node it believes is the primary, and moves on to the
/// next node on `not_primary`, a timeout, a lost connection or `replication_timeout`
/// (whose outcome is unknown: those transfers are never resent nor expected). Every
/// acknowledged transfer goes to the `AckLog` with its node and time; the timeline of
/// acknowledgements (runs of consecutive acks by one node) is kept too.
final class FailoverLoad: Sendable {
    /// A run of consecutive acknowledgements (in order of arrival) by one node.
    struct Run: Sendable {
        var node: String
        var first: Double
        var last: Double
        var count: Int
    }

    /// Counters of what the load saw.
    struct Counters: Sendable, CustomStringConvertible {
        var acked = 0
        var batches = 0
        var notPrimary = 0
        var unknownOutcome = 0
        var otherErrors = 0
        var lastError = ""
        var description: String {
            "acked \(acked) transfers in \(batches) batches; not_primary \(notPrimary), unknown outcome \(unknownOutcome)"
                + ", other errors \(otherErrors)" + (lastError.isEmpty ? "" : " (last: \(lastError))")
        }
    }

    private struct State {
        var target = 0
        var nextId: UInt128 = 10_000_000
        var stopped = false
        var runs: [Run] = []
        var counters = Counters()
    }

    let addresses: [String]
    let acks: AckLog
    private let state = Mutex(State())

    init(addresses: [String], acks: AckLog) {
        precondition(!addresses.isEmpty, "a load needs a node")
        self.addresses = addresses
        self.acks = acks
    }

    /// Starts `workers` concurrent senders; stop them with `stop()` then await the task.
    func start(workers: Int = 3, seed: UInt64) -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<workers {
                    group.addTask { await self.worker(seed: seed &+ UInt64(w) &* 7919) }
                }
            }
        }
    }

    /// Asks the workers to stop after their current batch.
    func stop() { state.withLock { $0.stopped = true } }

    var counters: Counters { state.withLock { $0.counters } }
    var runs: [Run] { state.withLock { $0.runs } }

    /// The first acknowledgement by a node other than `excluded` that arrived after
    /// `time` (wall clock), if any.
    func firstAck(after time: Double, notBy excluded: String = "") -> (node: String, at: Double)? {
        state.withLock { s in
            for run in s.runs where run.last > time && run.node != excluded {
                // Within a run the acks are in order; `first` may precede `time`.
                return (run.node, run.first > time ? run.first : run.last)
            }
            return nil
        }
    }

    /// The last acknowledgement by `node`, if any.
    func lastAck(by node: String) -> Double? {
        state.withLock { s in s.runs.last { $0.node == node }?.last }
    }

    /// The first acknowledgement by `node` after `time`, if any.
    func firstAck(by node: String, after time: Double) -> Double? {
        state.withLock { s in
            s.runs.first { $0.node == node && $0.last > time }.map { $0.first > time ? $0.first : $0.last }
        }
    }

    /// Where the timeline of acknowledgements shows two nodes acknowledging at once: a
    /// change of node closer than `minimumGap` seconds to the previous node's last
    /// acknowledgement (a legitimate failover waits for the old lease to expire in etcd,
    /// at least 0.2 x TTL after the old primary's deadline), listed with the gap.
    func overlaps(minimumGap: Double) -> [String] {
        let runs = self.runs
        var problems: [String] = []
        for (a, b) in zip(runs, runs.dropFirst()) where a.node != b.node && b.first - a.last < minimumGap {
            problems.append(
                "\(a.node) acknowledged until \(a.last), \(b.node) from \(b.first): gap \(Int((b.first - a.last) * 1000)) ms")
        }
        return problems
    }

    /// The switches of acknowledging node: (from, to, gap in seconds, at).
    var switches: [(from: String, to: String, gap: Double, at: Double)] {
        let runs = self.runs
        return zip(runs, runs.dropFirst()).filter { $0.0.node != $0.1.node }.map { ($0.0.node, $0.1.node, $0.1.first - $0.0.last, $0.1.first) }
    }

    private func worker(seed: UInt64) async {
        var random = LoadRandom(state: seed)
        var clients: [Int: KaminoClient] = [:]
        var failuresInARow = 0
        while !state.withLock({ $0.stopped }) {
            let target = state.withLock { $0.target }
            let batch = makeBatch(&random)
            let client: KaminoClient
            if let existing = clients[target] {
                client = existing
            } else {
                guard let made = try? KaminoClient(addresses: [addresses[target]], options: Self.options) else { return }
                clients[target] = made
                client = made
            }
            do {
                let results = try await client.createTransfers(batch)
                let acked = acks.recordTransfers(batch, results: results, node: addresses[target])
                let now = wallClockSeconds()
                noteAcks(acked, node: addresses[target], at: now)
                failuresInARow = 0
            } catch {
                // The client may have been redirected or left its connection: use a new one.
                clients[target] = nil
                await client.close()
                noteFailure(error, target: target)
                failuresInARow += 1
                if failuresInARow >= addresses.count {
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        for c in clients.values { await c.close() }
    }

    private func noteAcks(_ acked: Int, node: String, at now: Double) {
        state.withLock { s in
            s.counters.batches += 1
            s.counters.acked += acked
            guard acked > 0 else { return }
            if let last = s.runs.last, last.node == node {
                s.runs[s.runs.count - 1].last = now
                s.runs[s.runs.count - 1].count += acked
            } else {
                s.runs.append(Run(node: node, first: now, last: now, count: acked))
            }
        }
    }

    private func noteFailure(_ error: KaminoClientError, target: Int) {
        state.withLock { s in
            switch error.code {
            case .serverError(.notPrimary): s.counters.notPrimary += 1
            case .serverError(.replicationTimeout), .timeout, .connectionFailed, .outcomeUnknown:
                s.counters.unknownOutcome += 1
            default:
                s.counters.otherErrors += 1
                s.counters.lastError = "\(error)"
            }
            // Another worker may have moved on already.
            if s.target == target { s.target = (target + 1) % addresses.count }
        }
    }

    private func makeBatch(_ random: inout LoadRandom) -> [Transfer] {
        let count = 40 + random.below(21)
        let first = state.withLock { s in
            defer { s.nextId += UInt128(count) }
            return s.nextId
        }
        return (0..<count).map { i in
            let a = random.below(ClusterBook.customers)
            let b = (a + 1 + random.below(ClusterBook.customers - 1)) % ClusterBook.customers
            return Transfer(
                id: first + UInt128(i), debitAccountId: ClusterBook.customer(a), creditAccountId: ClusterBook.customer(b),
                amount: UInt128(1 + random.below(20)), userData64: UInt64(random.below(1_000)), ledger: ClusterBook.ledger,
                code: 7)
        }
    }

    /// One attempt per request, short timeouts: the load decides where to go next.
    static let options = KaminoClientOptions(
        requestTimeout: .seconds(2), connectTimeout: .milliseconds(500), retry: .none)
}
