package import Histogram
import Synchronization

/// Latency histograms and counts of one metric, in one stripe.
struct MetricCell {
    var total = Recorder.makeTotalHistogram()
    var interval = Recorder.makeIntervalHistogram()
    var count = 0
    var errors = 0
    var intervalCount = 0
    var intervalErrors = 0
    /// Failures by label (an error code or an unexpected result status).
    var errorsByLabel: [String: Int] = [:]
    /// Results other than success by status, expected or not (e.g. `exceeds_credits`).
    var statuses: [String: Int] = [:]
}

/// What one stripe holds: a cell per metric, the breakpoint window and transfer counts.
struct StripeData {
    var cells: [MetricCell] = (0..<Metric.count).map { _ in MetricCell() }
    var window = Recorder.makeIntervalHistogram()
    var windowCount = 0
    var windowErrors = 0
    var transfers = 0
    var intervalTransfers = 0
}

/// One lock's worth of recorder state (workers are spread over stripes to avoid contention).
final class RecorderStripe: Sendable {
    let data = Mutex(StripeData())
}

/// Collects every sample of a run: HdrHistograms of latency (microseconds) per metric,
/// of successful requests only (a failure's latency, often a refusal in microseconds or a
/// timeout, would hide the latency of the work done; failures are counted instead),
/// error counts by label, result statuses, transfers created; cut into intervals for the
/// progress line and the time series, and into windows for the breakpoint rule.
///
/// Thread-safe; a worker always records into the same stripe.
package final class Recorder: Sendable {
    /// Latencies above this (60 s) are recorded as this.
    static let highest: UInt64 = 60_000_000
    private let stripes: [RecorderStripe]

    package init(stripes: Int = 8) {
        self.stripes = (0..<max(1, stripes)).map { _ in RecorderStripe() }
    }

    static func makeTotalHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: .three)
    }

    static func makeIntervalHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: .two)
    }

    @inline(__always)
    private func stripe(_ worker: Int) -> RecorderStripe { stripes[worker % stripes.count] }

    /// Records one sample. `error` names the failure (nil on success); `statuses` counts
    /// non-success results that came with it; `transfers` is the number created.
    package func record(
        _ metric: Metric, worker: Int, micros: UInt64, error: String? = nil,
        statuses: [String: Int] = [:], transfers: Int = 0
    ) {
        let value = min(max(micros, 1), Self.highest)
        let i = metric.index
        stripe(worker).data.withLock { d in
            if error == nil {
                d.cells[i].total.record(value)
                d.cells[i].interval.record(value)
                if metric.isOperation { d.window.record(value) }
            }
            d.cells[i].count += 1
            d.cells[i].intervalCount += 1
            if metric.isOperation { d.windowCount += 1 }
            if let error {
                d.cells[i].errors += 1
                d.cells[i].intervalErrors += 1
                d.cells[i].errorsByLabel[error, default: 0] += 1
                if metric.isOperation { d.windowErrors += 1 }
            }
            for (k, v) in statuses { d.cells[i].statuses[k, default: 0] += v }
            d.transfers += transfers
            d.intervalTransfers += transfers
        }
    }

    /// The figures since the previous call (and resets the interval).
    package func takeInterval() -> (figures: [IntervalFigures?], transfers: Int) {
        // Made for the metrics that have samples only (one costs about 40,000 instructions).
        var merged = [Histogram<UInt64>?](repeating: nil, count: Metric.count)
        var counts = [Int](repeating: 0, count: Metric.count)
        var errors = [Int](repeating: 0, count: Metric.count)
        var transfers = 0
        for s in stripes {
            s.data.withLock { d in
                for i in 0..<Metric.count where d.cells[i].intervalCount > 0 {
                    if merged[i] == nil { merged[i] = Self.makeIntervalHistogram() }
                    merged[i]?.add(d.cells[i].interval)
                    // A new histogram costs about a seventh of `reset()`, which zeroes the
                    // counts one checked element at a time.
                    d.cells[i].interval = Self.makeIntervalHistogram()
                    counts[i] += d.cells[i].intervalCount
                    errors[i] += d.cells[i].intervalErrors
                    d.cells[i].intervalCount = 0
                    d.cells[i].intervalErrors = 0
                }
                transfers += d.intervalTransfers
                d.intervalTransfers = 0
            }
        }
        let figures: [IntervalFigures?] = (0..<Metric.count).map { i in
            guard counts[i] > 0, let h = merged[i] else { return nil }
            return IntervalFigures(
                count: counts[i], errors: errors[i], p50: h.valueAtPercentile(50), p90: h.valueAtPercentile(90),
                p99: h.valueAtPercentile(99), max: h.max)
        }
        return (figures, transfers)
    }

    /// Requests, errors and p99 (of the successful ones) of all protocol operations since the previous call (the
    /// breakpoint rule's window), and resets the window.
    package func takeWindow() -> (requests: Int, errors: Int, p99: UInt64) {
        var merged = Self.makeIntervalHistogram()
        var requests = 0
        var errors = 0
        for s in stripes {
            s.data.withLock { d in
                merged.add(d.window)
                d.window = Self.makeIntervalHistogram()
                requests += d.windowCount
                errors += d.windowErrors
                d.windowCount = 0
                d.windowErrors = 0
            }
        }
        assert(requests >= Int(merged.totalCount), "every latency sample is a request")
        return (requests, errors, merged.totalCount > 0 ? merged.valueAtPercentile(99) : 0)
    }

    /// Everything recorded, merged over stripes, per metric slot.
    package func totals() -> (cells: [MetricTotals], transfers: Int) {
        var out = (0..<Metric.count).map { _ in MetricTotals() }
        var transfers = 0
        for s in stripes {
            s.data.withLock { d in
                for i in 0..<Metric.count {
                    let c = d.cells[i]
                    guard c.count > 0 else { continue }
                    out[i].histogram.add(c.total)
                    out[i].count += c.count
                    out[i].errors += c.errors
                    out[i].errorsByLabel.merge(c.errorsByLabel, uniquingKeysWith: +)
                    out[i].statuses.merge(c.statuses, uniquingKeysWith: +)
                }
                transfers += d.transfers
            }
        }
        return (out, transfers)
    }
}

/// The merged totals of one metric.
package struct MetricTotals: Sendable {
    package var histogram = Recorder.makeTotalHistogram()
    package var count = 0
    package var errors = 0
    package var errorsByLabel: [String: Int] = [:]
    package var statuses: [String: Int] = [:]
}
