import Glibc

/// The `--report FILE.html` page: one self-contained file (inline SVG and CSS, no
/// script, no network) with throughput over time, latency percentiles over time, the
/// latency distribution per operation, concurrency and server memory, the final table,
/// and the JSON figures embedded for tools.
package enum HTMLReport {
    package static func render(_ r: BenchReport) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>kamino bench: \(r.configuration.scenarioName) / \(r.mix.rawValue)</title>
            <style>
            body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
            h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
            table { border-collapse: collapse; font-size: 13px; }
            td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
            td:first-child, th:first-child { text-align: left; }
            .chart { display: block; margin: 8px 0 18px 0; background: #fff; }
            .chart .plot { fill: #fafafa; stroke: #999; }
            .chart .grid { stroke: #e3e3e3; }
            .chart text { font-size: 12px; fill: #333; }
            .chart .title { font-size: 15px; font-weight: 600; }
            .chart .ytick { text-anchor: end; } .chart .xtick, .chart .xlabel, .chart .ylabel { text-anchor: middle; }
            .ok { color: #1a7f37; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
            pre { background: #f6f6f6; padding: 8px; font-size: 12px; }
            </style></head><body>

            """
        let c = r.configuration
        html += "<h1>kamino bench — scenario <code>\(c.scenarioName)</code>, mix <code>\(r.mix.rawValue)</code></h1>\n"
        if let why = r.abortReason { html += "<p class=\"bad\">Stopped early: \(escape(why)).</p>\n" }
        if let m = r.metadata {
            html += "<p>Run \(m.startedAt.iso8601) to \(m.endedAt.iso8601) (UTC); kamino \(escape(m.version)), commit "
            html += "<code>\(escape(m.commit))</code>; host \(escape(m.host.hostname)) (\(escape(m.host.kernel)), nproc \(m.host.nproc)); "
            html += "<code>\(escape(m.commandLine.joined(separator: " ")))</code>.</p>\n"
        }
        html += "<p>\(Format.fixed(r.durationSeconds, 1)) s measured (setup \(Format.fixed(r.setupSeconds, 1)) s); "
        html += "\(Format.grouped(c.accounts)) accounts, \(c.distribution.name) distribution, "
        if r.mix == .transfers { html += "batches of \(c.effectiveBatchSize), " }
        html += "\(c.effectiveConnections) connections, up to \(r.peakInFlight) requests in flight; "
        html += "two-phase \(Format.fixed(c.twoPhase, 2)), linked \(Format.fixed(c.linked, 2)); seed \(c.seed); "
        html += "server \(escape(r.server)); machine: \(r.machine.cores) cores, \(Format.bytes(r.machine.memoryBytes)).</p>\n"
        html += "<p>Transfers created: <b>\(Format.grouped(r.transfersCreated))</b>, <b>\(Format.rate(r.transfersPerSecond))</b> per second. "
        html += "Money invariants: " + (r.invariants.ok ? "<span class=\"ok\">ok</span>" : "<span class=\"bad\">FAILED</span>")
        html += ". Unexpected errors: \(r.unexpectedErrors).</p>\n"
        if let b = r.breakpoint { html += "<p>Breakpoint: \(escape(b.reason)).</p>\n" }
        if let o = r.openLoop { html += "<p>\(escape(TableReport.openLine(o)))</p>\n" }
        if !r.thresholds.isEmpty { html += thresholdTable(r.thresholds) }
        if let comparison = r.comparison { html += "<h2>Compared with a baseline</h2>\n<pre>\(escape(comparison.render()))</pre>\n" }

        html += "<h2>Operations</h2>\n" + table(r.operations)
        if !r.actions.isEmpty { html += "<h2>Bank actions</h2>\n" + table(r.actions) }
        let statuses = TableReport.statusLines(r.operations)
        if !statuses.isEmpty { html += "<pre>\(escape(statuses))</pre>\n" }

        html += "<h2>Throughput over time</h2>\n"
        for chart in throughputCharts(r) { html += chart.render() }
        html += "<h2>Latency percentiles over time</h2>\n"
        for chart in latencyCharts(r) { html += chart.render() }
        html += "<h2>Latency distribution</h2>\n"
        html += distributionChart(r.operations, title: "Latency by percentile, per operation").render()
        if !r.actions.isEmpty {
            html += distributionChart(r.actions, title: "Latency by percentile, per bank action").render()
        }
        if r.series.contains(where: { $0.serverRSSBytes != nil }) {
            var mem = SVGChart(title: "Server memory (RSS)", xLabel: "seconds", yLabel: "MiB", series: [
                .init(name: "server RSS", points: r.series.compactMap { p in p.serverRSSBytes.map { (p.t, Double($0) / 1_048_576) } }),
            ])
            mem.height = 260
            html += mem.render()
        }
        html += "<h2>Money invariants</h2>\n<table><tr><th>check</th><th>result</th><th>detail</th></tr>\n"
        for ch in r.invariants.checks {
            html += "<tr><td>\(escape(ch.name))</td><td class=\"\(ch.ok ? "ok" : "bad")\">\(ch.ok ? "ok" : "FAILED")</td><td>\(escape(ch.detail))</td></tr>\n"
        }
        html += "</table>\n"
        html += "<script type=\"application/json\" id=\"kamino-bench-data\">\n"
        html += JSONReport.document(r).render() + "\n</script>\n</body></html>\n"
        return html
    }

    static func table(_ rows: [MetricSummary]) -> String {
        var out = "<table><tr><th>operation</th><th>count</th><th>errors</th><th>per second</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n"
        for m in rows {
            let cells = [Format.grouped(m.count), Format.grouped(m.errors), Format.rate(m.perSecond),
                         Format.micros(m.p50), Format.micros(m.p90), Format.micros(m.p95), Format.micros(m.p99),
                         Format.micros(m.p999), Format.micros(m.max)]
            out += "<tr><td>\(escape(m.name))</td>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }

    /// Transfers per second, requests per second by operation, and the concurrency.
    static func throughputCharts(_ r: BenchReport) -> [SVGChart] {
        let s = r.series
        var charts: [SVGChart] = []
        if r.transfersCreated > 0 {
            charts.append(SVGChart(title: "Transfers created per second", xLabel: "seconds", yLabel: "transfers/s", series: [
                .init(name: "transfers/s", points: s.map { ($0.t, Double($0.transfers) / max($0.seconds, 0.001)) }),
            ]))
        }
        var perOp: [SVGChart.Series] = []
        for op in BenchOperation.allCases {
            let i = Metric.operation(op).index
            guard s.contains(where: { $0.figures[i] != nil }) else { continue }
            perOp.append(.init(name: op.name, points: s.map { ($0.t, Double($0.figures[i]?.count ?? 0) / max($0.seconds, 0.001)) }))
        }
        charts.append(SVGChart(title: "Requests per second by operation", xLabel: "seconds", yLabel: "requests/s", series: perOp))
        if s.contains(where: { $0.targetRate != nil }) {
            // Open model: what was intended against what was done (bank: one action per arrival).
            let done: (TickPoint) -> Double = { p in
                let n = p.figures.enumerated().reduce(0) { sum, item in
                    guard let f = item.element, Metric.at(item.offset).isOperation == (r.mix == .transfers) else { return sum }
                    return sum + f.count
                }
                return Double(n) / max(p.seconds, 0.001)
            }
            charts.append(SVGChart(
                title: "Intended and achieved rate (open model)", xLabel: "seconds",
                yLabel: r.mix == .transfers ? "requests/s" : "actions/s", series: [
                    .init(name: "intended", points: s.compactMap { p in p.targetRate.map { (p.t, $0) } }, dashed: true),
                    .init(name: "done", points: s.map { ($0.t, done($0)) }),
                ]))
        }
        let inFlightTitle = r.openLoop == nil ? "Requests in flight (target concurrency)" : "Requests in flight"
        var workers = SVGChart(title: inFlightTitle, xLabel: "seconds", yLabel: "in flight", series: [
            .init(name: "in flight", points: s.map { ($0.t, Double($0.workers)) }),
        ])
        workers.height = 240
        charts.append(workers)
        return charts
    }

    /// p50/p90/p99/max per interval of the busiest operation, and p99 of every operation.
    static func latencyCharts(_ r: BenchReport) -> [SVGChart] {
        let s = r.series
        let ms: (UInt64) -> Double = { Double($0) / 1000 }
        let main = r.operations.max { $0.count < $1.count }
        var charts: [SVGChart] = []
        if let main, let op = BenchOperation.allCases.first(where: { $0.name == main.name }) {
            let i = Metric.operation(op).index
            let pts: (KeyPath<IntervalFigures, UInt64>) -> [(x: Double, y: Double)] = { kp in
                s.compactMap { p in p.figures[i].map { (p.t, ms($0[keyPath: kp])) } }
            }
            var chart = SVGChart(title: "\(op.name) latency per second: p50, p90, p99, max", xLabel: "seconds", yLabel: "ms", series: [
                .init(name: "p50", points: pts(\.p50)), .init(name: "p90", points: pts(\.p90)),
                .init(name: "p99", points: pts(\.p99)), .init(name: "max", points: pts(\.max), dashed: true),
            ])
            chart.logY = true
            charts.append(chart)
        }
        if r.operations.count > 1 {
            var series: [SVGChart.Series] = []
            for op in BenchOperation.allCases {
                let i = Metric.operation(op).index
                let pts = s.compactMap { p in p.figures[i].map { (x: p.t, y: ms($0.p99)) } }
                if !pts.isEmpty { series.append(.init(name: "\(op.name) p99", points: pts)) }
            }
            var chart = SVGChart(title: "p99 latency per second by operation", xLabel: "seconds", yLabel: "ms", series: series)
            chart.logY = true
            charts.append(chart)
        }
        return charts
    }

    /// The thresholds with pass/fail.
    static func thresholdTable(_ results: [ThresholdResult]) -> String {
        var out = "<h2>Thresholds</h2>\n<table><tr><th>threshold</th><th>measured</th><th>result</th></tr>\n"
        for t in results {
            let measured = t.actual.map { Threshold.format($0, t.threshold.statistic) } ?? "no samples"
            out += "<tr><td><code>\(escape(t.threshold.text))</code></td><td>\(escape(measured))</td>"
            out += "<td class=\"\(t.ok ? "ok" : "bad")\">\(t.ok ? "pass" : "FAIL")</td></tr>\n"
        }
        return out + "</table>\n"
    }

    /// Latency by percentile (HdrHistogram's percentile spectrum): one line per metric,
    /// named in the legend.
    static func distributionChart(_ metrics: [MetricSummary], title: String) -> SVGChart {
        let x: (Double) -> Double = { p in min(5, -log10(max(1e-5, 1 - p / 100))) }
        let series: [SVGChart.Series] = metrics.map { m in
            .init(name: m.name, points: m.distribution.map { (x($0.percentile), Double($0.micros) / 1000) })
        }
        var chart = SVGChart(title: title, xLabel: "percentile", yLabel: "ms", series: series)
        chart.logY = true
        chart.xTicks = [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")]
        return chart
    }

    /// Escapes text for HTML.
    package static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
