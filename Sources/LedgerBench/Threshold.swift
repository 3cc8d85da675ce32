/// One `--threshold` rule, after k6's thresholds: `METRIC:STATISTIC OP VALUE`, e.g.
/// `create_transfers:p99<5ms`, `create_transfers:rate>1000/s`, `requests:error_rate<1%`,
/// `transfers:rate>=100000/s`, `balance:mean<=2ms`. A run whose thresholds do not all
/// hold exits with status 1.
///
/// - METRIC: a protocol operation (`create_transfers`, ...), a bank action (`balance`,
///   ...), `requests` (every operation together: rate, count, errors, error_rate) or
///   `transfers` (transfers created: rate, count).
/// - STATISTIC: `p50` ... `p99.9` or k6's `p(99.99)`, `med`, `min`, `max`, `mean` (`avg`),
///   `rate` (per second over the measured phase), `count`, `errors`, `error_rate`.
/// - VALUE: a latency in `us`/`µs`/`ms`/`s` (no unit: milliseconds, as in k6), a rate with
///   an optional `/s`, an error rate as `1%` or a fraction, or a count.
package struct Threshold: Sendable, Equatable {
    /// What is compared.
    package enum Statistic: Sendable, Equatable {
        /// A latency percentile in (0, 100].
        case percentile(Double)
        case min, max, mean
        /// Samples per second of the measured phase.
        case rate
        case count
        case errors
        /// Errors over samples, a fraction.
        case errorRate

        /// True for the statistics measured in microseconds.
        package var isLatency: Bool {
            switch self {
            case .percentile, .min, .max, .mean: return true
            default: return false
            }
        }

        /// The name in reports (`p99`, `p99.9`, `error_rate`).
        package var name: String {
            switch self {
            case .percentile(let p): return "p" + Threshold.number(p)
            case .min: return "min"
            case .max: return "max"
            case .mean: return "mean"
            case .rate: return "rate"
            case .count: return "count"
            case .errors: return "errors"
            case .errorRate: return "error_rate"
            }
        }
    }

    /// The comparison that must hold between the measured value and the limit.
    package enum Comparison: String, Sendable, Equatable, CaseIterable {
        case lessOrEqual = "<="
        case greaterOrEqual = ">="
        case less = "<"
        case greater = ">"

        package func holds(_ value: Double, _ limit: Double) -> Bool {
            switch self {
            case .less: return value < limit
            case .lessOrEqual: return value <= limit
            case .greater: return value > limit
            case .greaterOrEqual: return value >= limit
            }
        }
    }

    /// The rule as written on the command line.
    package var text: String
    package var metric: String
    package var statistic: Statistic
    package var comparison: Comparison
    /// The limit, in the statistic's unit: microseconds for latencies, per second for
    /// `rate`, a fraction for `error_rate`, a number for `count` and `errors`.
    package var limit: Double

    /// The metric names a threshold may name besides operations and bank actions.
    package static let aggregateMetrics = ["requests", "transfers"]

    /// Parses one rule; the error names what is wrong with it.
    package static func parse(_ text: String) throws(BenchError) -> Threshold {
        func bad(_ why: String) -> BenchError { BenchError(.invalidOption, "--threshold '\(text)': \(why)") }
        let compact = String(text.filter { $0 != " " })
        guard let colon = compact.firstIndex(of: ":") else {
            throw bad("expected METRIC:STATISTIC<VALUE, e.g. create_transfers:p99<5ms")
        }
        let metric = String(compact[..<colon])
        let known = BenchOperation.allCases.map(\.name) + BankAction.allCases.map(\.name) + aggregateMetrics
        guard known.contains(metric) else { throw bad("unknown metric '\(metric)'; one of \(known.joined(separator: ", "))") }
        let rest = compact[compact.index(after: colon)...]
        guard let opStart = rest.firstIndex(where: { $0 == "<" || $0 == ">" }) else {
            throw bad("no comparison: use <, <=, > or >=")
        }
        let statText = String(rest[..<opStart])
        let afterOp = rest[opStart...]
        guard let comparison = Comparison.allCases.first(where: { afterOp.hasPrefix($0.rawValue) }) else {
            throw bad("no comparison: use <, <=, > or >=")
        }
        let valueText = String(afterOp.dropFirst(comparison.rawValue.count))
        guard let statistic = parseStatistic(statText.lowercased()) else {
            throw bad("unknown statistic '\(statText)'; one of p50, p90, p95, p99, p99.9, p(N), med, min, max, mean, "
                + "rate, count, errors, error_rate")
        }
        if metric == "transfers", statistic != .rate, statistic != .count {
            throw bad("transfers has rate and count only")
        }
        if metric == "requests", statistic.isLatency {
            throw bad("requests has rate, count, errors and error_rate; name an operation for latencies")
        }
        guard let limit = parseValue(valueText.lowercased(), for: statistic) else {
            throw bad("cannot read the value '\(valueText)' for \(statistic.name)")
        }
        return Threshold(text: text, metric: metric, statistic: statistic, comparison: comparison, limit: limit)
    }

    private static func parseStatistic(_ s: String) -> Statistic? {
        switch s {
        case "min": return .min
        case "max": return .max
        case "mean", "avg": return .mean
        case "med", "median": return .percentile(50)
        case "rate": return .rate
        case "count": return .count
        case "errors": return .errors
        case "error_rate", "errorrate": return .errorRate
        case "p999": return .percentile(99.9)
        default: break
        }
        var body = Substring(s)
        guard body.hasPrefix("p") else { return nil }
        body = body.dropFirst()
        if body.hasPrefix("("), body.hasSuffix(")") { body = body.dropFirst().dropLast() }
        guard let p = Double(body), p > 0, p <= 100 else { return nil }
        return .percentile(p)
    }

    /// The limit in the statistic's unit; nil when the text does not fit it.
    private static func parseValue(_ s: String, for statistic: Statistic) -> Double? {
        func number(_ t: Substring) -> Double? {
            guard let v = Double(t), v.isFinite, v >= 0 else { return nil }
            return v
        }
        if statistic.isLatency {
            let units: [(String, Double)] = [("us", 1), ("µs", 1), ("ms", 1000), ("s", 1_000_000)]
            for (suffix, scale) in units where s.hasSuffix(suffix) {
                return number(s.dropLast(suffix.count)).map { $0 * scale }
            }
            return number(Substring(s)).map { $0 * 1000 }
        }
        switch statistic {
        case .rate:
            return number(s.hasSuffix("/s") ? s.dropLast(2) : Substring(s))
        case .errorRate:
            if s.hasSuffix("%") { return number(s.dropLast()).flatMap { $0 <= 100 ? $0 / 100 : nil } }
            return number(Substring(s)).flatMap { $0 <= 1 ? $0 : nil }
        default:
            return number(Substring(s)).flatMap { $0 == $0.rounded() ? $0 : nil }
        }
    }

    /// `99`, `99.9`: a number without a trailing `.0`.
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
    }

    /// The limit written in the statistic's unit (`5.00 ms`, `1,000/s`, `1.00 %`).
    package var limitText: String { Threshold.format(limit, statistic) }

    /// A value of `statistic` as the reports show it.
    package static func format(_ v: Double, _ statistic: Statistic) -> String {
        if statistic.isLatency { return Format.micros(UInt64(max(0, v).rounded())) }
        switch statistic {
        case .rate: return (v < 100 ? Format.fixed(v, 2) : Format.rate(v)) + "/s"
        case .errorRate: return Format.fixed(v * 100, 2) + " %"
        default: return Format.grouped(Int(v.rounded()))
        }
    }
}

/// A threshold and what the run measured for it.
package struct ThresholdResult: Sendable {
    package var threshold: Threshold
    /// The measured value in the statistic's unit; nil when the metric had no samples.
    package var actual: Double?
    package var ok: Bool

    /// `create_transfers:p99<5ms  pass  (p99 3.21 ms)`.
    package var summary: String {
        let measured = actual.map { Threshold.format($0, threshold.statistic) } ?? "no samples"
        return "\(threshold.metric):\(threshold.statistic.name)\(threshold.comparison.rawValue)\(threshold.limitText)  "
            + (ok ? "pass" : "FAIL") + "  (\(threshold.statistic.name) \(measured))"
    }
}

/// Judges thresholds against a finished run (pure).
package enum ThresholdCheck {
    package static func evaluate(_ thresholds: [Threshold], report r: BenchReport) -> [ThresholdResult] {
        thresholds.map { t in
            let actual = measured(t, r)
            return ThresholdResult(threshold: t, actual: actual, ok: actual.map { t.comparison.holds($0, t.limit) } ?? false)
        }
    }

    /// The value the run measured for `t`; nil when its metric had no samples (a latency or
    /// an error rate of nothing cannot pass).
    static func measured(_ t: Threshold, _ r: BenchReport) -> Double? {
        if t.metric == "transfers" {
            return t.statistic == .count ? Double(r.transfersCreated) : r.transfersPerSecond
        }
        if t.metric == "requests" {
            let count = r.operations.reduce(0) { $0 + $1.count }
            let errors = r.operations.reduce(0) { $0 + $1.errors }
            switch t.statistic {
            case .rate: return r.durationSeconds > 0 ? Double(count) / r.durationSeconds : 0
            case .count: return Double(count)
            case .errors: return Double(errors)
            case .errorRate: return count > 0 ? Double(errors) / Double(count) : nil
            default: return nil
            }
        }
        let m = (r.operations + r.actions).first { $0.name == t.metric }
        switch t.statistic {
        case .rate: return m?.perSecond ?? 0
        case .count: return Double(m?.count ?? 0)
        case .errors: return Double(m?.errors ?? 0)
        case .errorRate:
            guard let m, m.count > 0 else { return nil }
            return Double(m.errors) / Double(m.count)
        case .percentile(let p):
            guard let m, m.count > 0 else { return nil }
            return Double(m.histogram.valueAtPercentile(p))
        case .min:
            guard let m, m.count > 0 else { return nil }
            return Double(m.histogram.min)
        case .max:
            guard let m, m.count > 0 else { return nil }
            return Double(m.max)
        case .mean:
            guard let m, m.count > 0 else { return nil }
            return m.mean
        }
    }
}
