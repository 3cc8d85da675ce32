package import Histogram

/// The final figures of one metric.
package struct MetricSummary: Sendable {
    package var name: String
    package var count: Int
    package var errors: Int
    package var perSecond: Double
    /// Latency percentiles and maximum, microseconds.
    package var p50: UInt64, p90: UInt64, p95: UInt64, p99: UInt64, p999: UInt64, max: UInt64
    /// Mean latency, microseconds (0 without samples).
    package var mean: Double
    /// Every latency sample (microseconds), for thresholds on any percentile.
    package var histogram: Histogram<UInt64>
    package var errorsByLabel: [String: Int]
    package var statuses: [String: Int]
    /// The latency distribution: (percentile, microseconds) points for the plot.
    package var distribution: [(percentile: Double, micros: UInt64)]

    package init(name: String, totals: MetricTotals, seconds: Double) {
        let h = totals.histogram
        self.name = name
        count = totals.count
        errors = totals.errors
        perSecond = seconds > 0 ? Double(totals.count) / seconds : 0
        let empty = h.totalCount == 0
        p50 = empty ? 0 : h.valueAtPercentile(50)
        p90 = empty ? 0 : h.valueAtPercentile(90)
        p95 = empty ? 0 : h.valueAtPercentile(95)
        p99 = empty ? 0 : h.valueAtPercentile(99)
        p999 = empty ? 0 : h.valueAtPercentile(99.9)
        max = empty ? 0 : h.max
        mean = empty ? 0 : h.mean
        histogram = h
        errorsByLabel = totals.errorsByLabel
        statuses = totals.statuses
        var points: [(Double, UInt64)] = []
        if !empty {
            for v in h.percentiles(ticksPerHalfDistance: 4) {
                points.append((v.percentile, v.value))
                if v.percentile >= 99.999 { break }
            }
        }
        distribution = points
    }
}

/// What the money check found.
package struct InvariantOutcome: Sendable {
    /// True when every check passed.
    package var ok: Bool
    /// Accounts looked up.
    package var accounts: Int
    /// Each check with its outcome, e.g. ("debits_posted = credits_posted", true).
    package var checks: [(name: String, ok: Bool, detail: String)]
}

/// Where a breakpoint run stopped.
package struct BreakpointOutcome: Sendable {
    /// True when a limit was crossed (false: the run ended first).
    package var crossed: Bool
    /// Why it stopped, e.g. `p99 120.4 ms > 100 ms`.
    package var reason: String
    /// The last step within the limits: concurrency, requests/s, p99 µs.
    package var lastGood: (workers: Int, perSecond: Double, p99: UInt64)?
    /// The step that crossed.
    package var broken: (workers: Int, perSecond: Double, p99: UInt64)?
}

/// What the bench's own followers showed at the end (`--followers N`).
package struct ReplicaOutcome: Sendable {
    package var followers: Int
    package var mode: BenchReplication
    /// True when every follower's `wal replay` digest equals the primary's.
    package var digestsEqual: Bool
    /// The digest when equal; otherwise each one and, if a follower lagged, where.
    package var detail: String
}

/// Memory of the server the bench started, sampled every interval (soak).
package struct MemoryWatch: Sendable {
    package var startBytes: Int
    package var endBytes: Int
    package var maxBytes: Int
}

/// The machine the bench ran on.
package struct MachineInfo: Sendable {
    package var cores: Int
    package var memoryBytes: Int

    package init(cores: Int, memoryBytes: Int) {
        self.cores = cores
        self.memoryBytes = memoryBytes
    }
}

/// Everything one run measured: what the table, the JSON and the HTML report show.
package struct BenchReport: Sendable {
    package var scenario: BenchScenario
    package var mix: BenchMix
    package var configuration: BenchConfiguration
    package var machine: MachineInfo
    /// Length of the measured phase.
    package var durationSeconds: Double
    /// Time spent creating (and funding) the accounts before it.
    package var setupSeconds: Double
    /// Protocol operations that were sent.
    package var operations: [MetricSummary]
    /// Bank actions (bank mix only).
    package var actions: [MetricSummary]
    package var transfersCreated: Int
    package var transfersPerSecond: Double
    package var invariants: InvariantOutcome
    package var series: [TickPoint]
    package var breakpoint: BreakpointOutcome?
    package var memory: MemoryWatch?
    /// Requests that failed or results that were not expected, all operations together.
    package var unexpectedErrors: Int
    /// True when a request's outcome is unknown (so exact money totals cannot be expected).
    package var outcomeUnknown: Bool
    /// Where the server ran: `own` (started by the bench) or the address.
    package var server: String
    /// The kept data directory, if any.
    package var dataDirectory: String?
    /// The most requests in flight the scenario reached.
    package var peakInFlight = 0
    /// The followers' digest check (`--followers N`); nil: the bench started none.
    package var replicas: ReplicaOutcome?
    /// CPU of the bench client and of the server over the measured phase; nil: not measured.
    package var cpu: CPUCost?
    /// Why the run stopped before its end (Ctrl-C, the server gone); nil: it ran to the end.
    package var abortReason: String?
    /// The signal (SIGINT, SIGTERM) that interrupted the run, if one did.
    package var interruptSignal: Int32?
    /// The open model's figures (`--rate`, rate stages, smoke); nil: closed model.
    package var openLoop: OpenLoopOutcome?
    /// When, with what and where the run ran.
    package var metadata: RunMetadata?
    /// Each `--threshold` and whether it held.
    package var thresholds: [ThresholdResult] = []
    /// The `--compare` baseline's differences, when one was given.
    package var comparison: BaselineComparison?

    /// True when every threshold held.
    package var thresholdsOK: Bool { thresholds.allSatisfy(\.ok) }

    /// The process exit status: 128 + the signal when interrupted (130 for Ctrl-C); else 0
    /// when the run ended as planned, the invariants hold, nothing failed unexpectedly,
    /// every threshold held and every follower's digest equals the primary's; else 1.
    package var exitCode: Int32 {
        if let interruptSignal { return 128 + interruptSignal }
        let ok = invariants.ok && unexpectedErrors == 0 && replicas?.digestsEqual != false && thresholdsOK
            && abortReason == nil
        return ok ? 0 : 1
    }
}
