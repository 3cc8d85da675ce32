import LedgerCore
import Prometheus
import Synchronization

/// `kamino_request_duration_seconds`, by operation: a Prometheus histogram recorded with
/// relaxed atomics (one bucket add and one sum add per request: no lock, no `Duration`
/// arithmetic) and rendered in the exact text swift-prometheus renders for a
/// `DurationHistogram` with the same buckets, labels and help.
///
/// It exists because swift-prometheus's histogram takes a lock and compares the value
/// with every bucket as a `Duration` on each record (about 700 instructions per request
/// on the server's small-request path); the registry has no way to add a metric of one's
/// own, so `ServerMetrics.render` appends this family after the registry's (the registry's
/// own order is its dictionary's, so no reader can rely on one).
///
/// A series appears once its operation answered a request, as the lazily made
/// histogram did. Concurrent renders and records may see a request counted in its bucket
/// and not yet in the sum (as with any scrape taken while requests run).
final class RequestDurations: Sendable {
    /// The family's name, and its help (as the registry-made histogram had them).
    static let name = "kamino_request_duration_seconds"
    static let help = "Time from a request's decoding to its reply being ready, by operation."

    /// Bucket upper bounds in nanoseconds, ascending (`le`: a value equal to a bound is in it).
    private let bounds: [Int64]
    /// The bounds as Prometheus renders them (`Duration.bucketRepresentation`).
    private let boundLabels: [String]
    /// One series per operation, in `Operation.allCases` order.
    private let series: [Series]
    /// For each raw operation code, its series' index in `series` (-1: no such operation).
    private let seriesOfCode: [Int]

    /// The counts of one operation.
    private final class Series: Sendable {
        /// `operation="create_transfers"`, as swift-prometheus pre-renders labels.
        let labels: String
        /// Requests per bucket, not cumulative; the last slot is above every bound (+Inf).
        let counts: InlineArray<17, Atomic<Int>>
        /// Sum of the recorded durations in nanoseconds.
        let sumNanoseconds = Atomic<Int64>(0)

        init(labels: String) {
            self.labels = labels
            self.counts = InlineArray { _ in Atomic(0) }
        }
    }

    /// `buckets`: at most 16 ascending bounds, each a whole number of nanoseconds.
    init(buckets: [Duration]) {
        precondition(buckets.count <= 16, "at most 16 bounds (the series has 17 slots)")
        bounds = buckets.map { b in
            let (seconds, attoseconds) = b.components
            precondition(attoseconds % 1_000_000_000 == 0, "a bound is a whole number of nanoseconds")
            return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        }
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds ascend")
        boundLabels = buckets.map(\.bucketRepresentation)
        series = Operation.allCases.map { op in
            Series(labels: "operation=\"\(ServerMetrics.snakeCase("\(op)"))\"")
        }
        var seriesOfCode = [Int](repeating: -1, count: 256)
        for (i, op) in Operation.allCases.enumerated() { seriesOfCode[Int(op.rawValue)] = i }
        self.seriesOfCode = seriesOfCode
    }

    /// Records one request of `operation` that took `nanoseconds`.
    func record(_ operation: Operation, nanoseconds: Int64) {
        let index = seriesOfCode[Int(operation.rawValue)]
        assert(index >= 0, "every operation has a series")
        let s = series[index]
        var slot = 0
        while slot < bounds.count && bounds[slot] < nanoseconds { slot += 1 }
        s.counts[slot].wrappingAdd(1, ordering: .relaxed)
        s.sumNanoseconds.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// Appends the family (nothing while no operation answered a request) in the registry's
    /// format: `# HELP`, `# TYPE`, then per series the cumulative buckets, `+Inf`, `_sum`
    /// and `_count`.
    func emit(into buffer: inout [UInt8]) {
        var lines: [UInt8] = []
        for s in series {
            var counts: [Int] = []
            counts.reserveCapacity(17)
            for i in 0..<17 { counts.append(s.counts[i].load(ordering: .relaxed)) }
            let total = counts.reduce(0, +)
            guard total > 0 else { continue }
            var cumulative = 0
            for (i, label) in boundLabels.enumerated() {
                cumulative += counts[i]
                lines.append(contentsOf: "\(Self.name)_bucket{\(s.labels),le=\"\(label)\"} \(cumulative)\n".utf8)
            }
            lines.append(contentsOf: "\(Self.name)_bucket{\(s.labels),le=\"+Inf\"} \(total)\n".utf8)
            let sum = Duration.nanoseconds(s.sumNanoseconds.load(ordering: .relaxed))
            lines.append(contentsOf: "\(Self.name)_sum{\(s.labels)} \(sum.bucketRepresentation)\n".utf8)
            lines.append(contentsOf: "\(Self.name)_count{\(s.labels)} \(total)\n".utf8)
        }
        guard !lines.isEmpty else { return }
        buffer.append(contentsOf: "# HELP \(Self.name) \(Self.help)\n".utf8)
        buffer.append(contentsOf: "# TYPE \(Self.name) histogram\n".utf8)
        buffer.append(contentsOf: lines)
    }
}
