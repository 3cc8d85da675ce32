/// `--compare BASELINE.json`: this run's figures next to an earlier run's `--json`
/// document: transfers per second and, per operation and bank action, requests per
/// second and p50, p99 and max latency, each with the change in absolute terms and in %.
package struct BaselineComparison: Sendable {
    /// What a row compares.
    package enum Kind: Sendable, Equatable {
        /// Per second: higher is better.
        case rate
        /// Microseconds: lower is better.
        case latency
    }

    /// One compared figure; nil on a side that does not have it.
    package struct Row: Sendable, Equatable {
        package var name: String
        package var kind: Kind
        package var baseline: Double?
        package var current: Double?

        /// This run minus the baseline.
        package var delta: Double? {
            guard let baseline, let current else { return nil }
            return current - baseline
        }

        /// The change relative to the baseline, in %; nil when the baseline is 0 or missing.
        package var percent: Double? {
            guard let delta, let baseline, baseline != 0 else { return nil }
            return delta / baseline * 100
        }
    }

    /// The figures a baseline document holds.
    package struct Figures: Sendable, Equatable {
        /// `throughput, 2026-12-07T08:45:03.120Z, commit abc`: what the baseline was.
        package var label: String
        package var transfersPerSecond: Double?
        /// Per operation (then per bank action): requests/s, p50, p99, max (µs).
        package var metrics: [(name: String, perSecond: Double?, p50: Double?, p99: Double?, max: Double?)]

        package static func == (a: Figures, b: Figures) -> Bool {
            a.label == b.label && a.transfersPerSecond == b.transfersPerSecond && a.metrics.count == b.metrics.count
                && zip(a.metrics, b.metrics).allSatisfy {
                    $0.name == $1.name && $0.perSecond == $1.perSecond && $0.p50 == $1.p50 && $0.p99 == $1.p99
                        && $0.max == $1.max
                }
        }

        /// The figures of a `kamino bench --json` document; throws when it is not one.
        package static func read(_ document: JSONValue) throws(BenchError) -> Figures {
            guard document["operations"] != nil, document["scenario"] != nil else {
                throw BenchError(.invalidOption, "not a `kamino bench --json` document (no scenario or operations)")
            }
            var parts = [document["scenario"]?.text ?? "?"]
            if let run = document["run"] {
                if let at = run["started_at"]?.text { parts.append(at) }
                if let commit = run["git_commit"]?.text { parts.append("commit \(commit)") }
            }
            var metrics: [(String, Double?, Double?, Double?, Double?)] = []
            for group in ["operations", "actions"] {
                for (name, m) in document[group]?.fields ?? [] {
                    let lat = m["latency_us"]
                    metrics.append((group == "actions" ? "\(name) (action)" : name, m["per_second"]?.number,
                                    lat?["p50"]?.number, lat?["p99"]?.number, lat?["max"]?.number))
                }
            }
            return Figures(label: parts.joined(separator: ", "), transfersPerSecond: document["transfers_per_second"]?.number,
                           metrics: metrics)
        }

        /// This run's figures in the same shape.
        package static func of(_ r: BenchReport) -> Figures {
            let ops = r.operations.map { ($0.name, $0) } + r.actions.map { ("\($0.name) (action)", $0) }
            return Figures(
                label: r.configuration.scenarioName, transfersPerSecond: r.transfersPerSecond,
                metrics: ops.map { name, m in
                    (name, m.perSecond, Double(m.p50), Double(m.p99), Double(m.max))
                })
        }
    }

    package var baselinePath: String
    package var baselineLabel: String
    package var rows: [Row]

    /// Compares `current` with `baseline`, metric by metric (those of either side).
    package static func make(baseline: Figures, current: Figures, baselinePath: String) -> BaselineComparison {
        var rows: [Row] = [
            Row(name: "transfers/s", kind: .rate, baseline: baseline.transfersPerSecond, current: current.transfersPerSecond),
        ]
        var names = current.metrics.map(\.name)
        for m in baseline.metrics where !names.contains(m.name) { names.append(m.name) }
        for name in names {
            let b = baseline.metrics.first { $0.name == name }
            let c = current.metrics.first { $0.name == name }
            rows.append(Row(name: "\(name) requests/s", kind: .rate, baseline: b?.perSecond, current: c?.perSecond))
            rows.append(Row(name: "\(name) p50", kind: .latency, baseline: b?.p50, current: c?.p50))
            rows.append(Row(name: "\(name) p99", kind: .latency, baseline: b?.p99, current: c?.p99))
            rows.append(Row(name: "\(name) max", kind: .latency, baseline: b?.max, current: c?.max))
        }
        return BaselineComparison(baselinePath: baselinePath, baselineLabel: baseline.label, rows: rows)
    }

    /// The text block printed after the table.
    package func render() -> String {
        let nameWidth = max(24, (rows.map(\.name.count).max() ?? 0) + 2)
        var out = "compared with \(baselinePath) (\(baselineLabel)):\n"
        out += Format.right("", nameWidth) + Format.left("baseline", 14) + Format.left("this run", 14)
            + Format.left("change", 26) + "\n"
        for row in rows {
            out += Format.right(row.name, nameWidth) + Format.left(Self.value(row.baseline, row.kind), 14)
                + Format.left(Self.value(row.current, row.kind), 14) + Format.left(Self.change(row), 26) + "\n"
        }
        return out
    }

    /// A figure as the table shows it; `-` when missing.
    static func value(_ v: Double?, _ kind: Kind) -> String {
        guard let v else { return "-" }
        switch kind {
        case .rate: return v < 100 ? Format.fixed(v, 1) : Format.rate(v)
        case .latency: return Format.micros(UInt64(max(0, v).rounded()))
        }
    }

    /// `+33,400 (+5.9 %)`, `-1.40 ms (-11.3 %)`; `-` when a side is missing.
    static func change(_ row: Row) -> String {
        guard let delta = row.delta else { return "-" }
        let sign = delta < 0 ? "-" : "+"
        var text = sign + value(abs(delta), row.kind)
        if let p = row.percent { text += " (" + (p < 0 ? "-" : "+") + Format.fixed(abs(p), 1) + " %)" }
        return text
    }

    /// The `comparison` object of the JSON document.
    package var json: JSONValue {
        func num(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
        return .object([
            ("baseline", .string(baselinePath)), ("baseline_label", .string(baselineLabel)),
            ("rows", .array(rows.map { r in
                .object([
                    ("metric", .string(r.name)), ("unit", .string(r.kind == .rate ? "per_second" : "us")),
                    ("baseline", num(r.baseline)), ("current", num(r.current)), ("delta", num(r.delta)),
                    ("percent", num(r.percent)),
                ])
            })),
        ])
    }
}
