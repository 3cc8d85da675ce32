/// The final text report: a table per operation (and per bank action), errors by
/// status, transfers per second, the breakpoint, memory and the money check.
package enum TableReport {
    /// The header and one row per metric.
    package static func table(_ rows: [MetricSummary], title: String) -> String {
        let headers = ["count", "errors", "per second", "p50", "p90", "p95", "p99", "p99.9", "max"]
        let widths = [11, 7, 12, 10, 10, 10, 10, 10, 10]
        let nameWidth = max(22, (rows.map(\.name.count).max() ?? 0) + 2)
        var out = Format.right(title, nameWidth)
        for (h, w) in zip(headers, widths) { out += Format.left(h, w) }
        out += "\n"
        for r in rows {
            var line = Format.right(r.name, nameWidth)
            let cells = [
                Format.grouped(r.count), Format.grouped(r.errors), Format.rate(r.perSecond),
                Format.micros(r.p50), Format.micros(r.p90), Format.micros(r.p95), Format.micros(r.p99),
                Format.micros(r.p999), Format.micros(r.max),
            ]
            for (c, w) in zip(cells, widths) { line += Format.left(c, w) }
            out += line + "\n"
        }
        return out
    }

    /// `name: label ×n, label ×m` lines for the metrics with errors or other statuses.
    package static func statusLines(_ rows: [MetricSummary]) -> String {
        var out = ""
        for r in rows {
            if !r.errorsByLabel.isEmpty {
                out += "errors   \(r.name): " + counts(r.errorsByLabel) + "\n"
            }
            if !r.statuses.isEmpty {
                out += "results  \(r.name): " + counts(r.statuses) + "\n"
            }
        }
        return out
    }

    private static func counts(_ d: [String: Int]) -> String {
        d.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) ×\(Format.grouped($0.value))" }.joined(separator: ", ")
    }

    /// The whole report.
    package static func render(_ r: BenchReport) -> String {
        var out = "\n"
        if let why = r.abortReason { out += "STOPPED EARLY: \(why)\n" }
        out += "scenario \(r.configuration.scenarioName)\(r.openLoop == nil ? "" : " (open model)"), mix \(r.mix.rawValue), \(r.configuration.address == nil ? replicationLabel(r.configuration) + ", " : "")\(Format.fixed(r.durationSeconds, 1)) s measured "
        out += "(setup \(Format.fixed(r.setupSeconds, 1)) s), \(r.machine.cores) cores, \(Format.bytes(r.machine.memoryBytes))\n\n"
        out += table(r.operations, title: "operation")
        if !r.actions.isEmpty {
            out += "\n" + table(r.actions, title: "bank action")
        }
        let statuses = statusLines(r.operations)
        if !statuses.isEmpty { out += "\n" + statuses }
        out += "\ntransfers created: \(Format.grouped(r.transfersCreated)), \(Format.rate(r.transfersPerSecond)) per second\n"
        if let o = r.openLoop { out += openLine(o) }
        if let b = r.breakpoint {
            out += "breakpoint: \(b.reason)"
            if let g = b.lastGood {
                out += "; last step within limits: \(g.workers) in flight, \(Format.rate(g.perSecond)) requests/s, p99 \(Format.micros(g.p99))"
            }
            out += "\n"
        }
        if let cpu = r.cpu { out += cpuLines(cpu) }
        if let m = r.memory {
            out += "server memory (RSS): start \(Format.bytes(m.startBytes)), end \(Format.bytes(m.endBytes)), max \(Format.bytes(m.maxBytes))\n"
        }
        out += "money invariants (\(Format.grouped(r.invariants.accounts)) accounts): \(r.invariants.ok ? "ok" : "FAILED")\n"
        for c in r.invariants.checks where !c.ok {
            out += "  FAILED \(c.name): \(c.detail)\n"
        }
        if r.outcomeUnknown {
            out += "  (some requests have an unknown outcome: the exact totals were not compared)\n"
        }
        if r.unexpectedErrors > 0 {
            out += "unexpected errors: \(Format.grouped(r.unexpectedErrors))\n"
        }
        if let replicas = r.replicas {
            out += replicas.digestsEqual
                ? "followers: \(replicas.followers), digests equal\n"
                : "followers: \(replicas.followers), digests DIFFER: \(replicas.detail)\n"
        }
        if !r.thresholds.isEmpty {
            let failed = r.thresholds.filter { !$0.ok }.count
            out += "thresholds: " + (failed == 0 ? "all \(r.thresholds.count) passed" : "\(failed) of \(r.thresholds.count) FAILED") + "\n"
            for t in r.thresholds { out += "  " + t.summary + "\n" }
        }
        return out
    }

    /// The open model's line: `open model: 200/s intended, 600 due, 600 sent (199.8/s), 0 late, 0 dropped`.
    package static func openLine(_ o: OpenLoopOutcome) -> String {
        let intended = o.targetRate.map { Threshold.format($0, .rate) } ?? "up to " + Threshold.format(o.peakRate, .rate)
        var out = "open model: \(intended) intended, \(Format.grouped(o.due)) due, \(Format.grouped(o.sent)) sent "
        out += "(\(Threshold.format(o.sentPerSecond, .rate))), \(Format.grouped(o.late)) late (> 1 ms; worst "
        out += "\(Format.micros(o.maxLateMicros)); \(Format.grouped(o.lateAllBusy)) with all \(o.cap) in flight), "
        out += "\(Format.grouped(o.dropped)) dropped\n"
        if o.lateAllBusy > 0 || o.dropped > 0 {
            out += "  (the in-flight cap was reached: raise --in-flight, or the server cannot keep up; latencies count "
            out += "from the intended send times, dropped requests were due but not sent by the end)\n"
        }
        return out
    }

    /// CPU per request (per transfer, per bank action) of the bench client and of the server,
    /// and the cores each kept busy: `cpu per request: client 8.12 µs, server 21.4 µs`.
    package static func cpuLines(_ c: CPUCost) -> String {
        func us(_ v: Double?) -> String {
            guard let v else { return "n/a" }
            return (v < 10 ? Format.fixed(v, 2) : v < 1000 ? Format.fixed(v, 1) : Format.rate(v)) + " µs"
        }
        func cores(_ v: Double?) -> String { v.map { Format.fixed($0, 2) } ?? "n/a" }
        func line(_ unit: String, _ client: Double?, _ server: Double?) -> String {
            "cpu per \(unit): client \(us(client)), server \(us(server))\n"
        }
        var out = line("request", c.clientPerRequest, c.serverPerRequest)
        if c.transfers > 0, c.transfers != c.requests {
            out += line("transfer", c.clientPerTransfer, c.serverPerTransfer)
        }
        if c.actions > 0 { out += line("bank action", c.clientPerAction, c.serverPerAction) }
        out += "cpu busy: client \(cores(c.clientCores)) cores, server \(cores(c.serverCores)) cores"
        if let note = c.serverNote { out += " (server: \(note))" }
        return out + "\n"
    }

    /// `2 sync followers`, `1 async follower`, or `no followers`.
    package static func replicationLabel(_ c: BenchConfiguration) -> String {
        guard let mode = c.replication else { return "no followers" }
        return "\(c.followers) \(mode.rawValue) follower\(c.followers == 1 ? "" : "s")"
    }
}
