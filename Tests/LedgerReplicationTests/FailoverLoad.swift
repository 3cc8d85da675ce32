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
        var batches: [AckedBatch] = []
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

    /// One acknowledged batch: its node, when it was sent and answered (wall clock), and
    /// the lowest and highest ledger timestamps of its acknowledged transfers (their place
    /// in the replicated log: timestamps grow along the log, across primaries).
    struct AckedBatch: Sendable {
        var node: String
        var sentAt: Double
        var ackedAt: Double
        var minTimestamp: UInt64
        var maxTimestamp: UInt64
    }

    /// Two nodes that acknowledged at once, from the acknowledgement timelines: the
    /// acknowledged batches in log order (ledger timestamps) form blocks, one per primary
    /// term; for consecutive blocks X then Y, X's last batch must have been executed
    /// before Y's first. It was not, for certain, when X's last batch was *sent* after
    /// Y's first was *answered*. Returns each such case, and the switches (with the gap
    /// between X's last answer and Y's first) for the report.
    func overlaps() -> (problems: [String], switches: [String]) {
        let batches = state.withLock { $0.batches }.sorted { $0.minTimestamp < $1.minTimestamp }
        var blocks: [(node: String, lastSent: Double, lastAcked: Double, firstAcked: Double, first: UInt64, last: UInt64)] = []
        var problems: [String] = []
        for b in batches {
            if let last = blocks.last, last.node == b.node {
                let i = blocks.count - 1
                blocks[i].lastSent = max(last.lastSent, b.sentAt)
                blocks[i].lastAcked = max(last.lastAcked, b.ackedAt)
                blocks[i].firstAcked = min(last.firstAcked, b.ackedAt)
                blocks[i].last = max(last.last, b.maxTimestamp)
            } else {
                if let last = blocks.last, last.last > b.minTimestamp {
                    problems.append("\(b.node)'s batch at ledger timestamp \(b.minTimestamp) interleaves \(last.node)'s (up to \(last.last))")
                }
                blocks.append((b.node, b.sentAt, b.ackedAt, b.ackedAt, b.minTimestamp, b.maxTimestamp))
            }
        }
        var switches: [String] = []
        for (x, y) in zip(blocks, blocks.dropFirst()) {
            let gap = Int(((y.firstAcked - x.lastAcked) * 1000).rounded())
            switches.append("\(x.node) -> \(y.node) (gap \(gap) ms)")
            if x.lastSent > y.firstAcked {
                problems.append(
                    "\(x.node) executed a batch sent at \(x.lastSent), after \(y.node) (next in the log) had answered one at "
                        + "\(y.firstAcked)")
            }
        }
        return (problems, switches)
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
                let sentAt = wallClockSeconds()
                let results = try await client.createTransfers(batch)
                let acked = acks.recordTransfers(batch, results: results, node: addresses[target])
                let now = wallClockSeconds()
                noteAcks(acked, node: addresses[target], at: now)
                let stamps = results.filter { $0.status == .created || $0.status == .exists }.map(\.timestamp)
                if let low = stamps.min(), let high = stamps.max() {
                    let entry = AckedBatch(
                        node: addresses[target], sentAt: sentAt, ackedAt: now, minTimestamp: low, maxTimestamp: high)
                    state.withLock { $0.batches.append(entry) }
                }
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
