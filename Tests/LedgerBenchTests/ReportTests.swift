import Foundation
import Glibc
import LedgerCore
import Testing
@testable import LedgerBench

/// A report built from synthetic samples (no server).
func sampleReport(mix: BenchMix = .transfers) -> BenchReport {
    let recorder = Recorder(stripes: 2)
    var series: [TickPoint] = []
    for second in 1...5 {
        for i in 0..<100 {
            recorder.record(.operation(.createTransfers), worker: i, micros: UInt64(1000 + i * 10 * second),
                            statuses: i == 0 ? ["exceeds_credits": 1] : [:], transfers: 8189)
            recorder.record(.operation(.lookupAccounts), worker: i, micros: UInt64(200 + i),
                            error: i == 99 && second == 5 ? "busy" : nil)
            if mix == .bank { recorder.record(.action(.balance), worker: i, micros: UInt64(210 + i)) }
        }
        let (figures, transfers) = recorder.takeInterval()
        series.append(TickPoint(t: Double(second), seconds: 1, workers: 4, transfers: transfers, figures: figures,
                                serverRSSBytes: 100 << 20 + second << 20))
    }
    let (totals, transfers) = recorder.totals()
    var config = BenchConfiguration()
    config.scenario = .load
    config.mix = mix
    let ops = BenchOperation.allCases.compactMap { op -> MetricSummary? in
        let t = totals[Metric.operation(op).index]
        return t.count > 0 ? MetricSummary(name: op.name, totals: t, seconds: 5) : nil
    }
    let actions = BankAction.allCases.compactMap { a -> MetricSummary? in
        let t = totals[Metric.action(a).index]
        return t.count > 0 ? MetricSummary(name: a.name, totals: t, seconds: 5) : nil
    }
    let invariants = InvariantCheck.evaluate(
        [Account(id: 1, debitsPosted: 5, creditsPosted: 0, ledger: 9, code: 1),
         Account(id: 2, debitsPosted: 0, creditsPosted: 5, ledger: 9, code: 1)],
        ledger: 9, expectedCount: 2, expectedPosted: 5, expectedPending: 0)
    return BenchReport(
        scenario: .load, mix: mix, configuration: config, machine: MachineInfo(cores: 2, memoryBytes: 1 << 34),
        durationSeconds: 5, setupSeconds: 0.5, operations: ops, actions: actions, transfersCreated: transfers,
        transfersPerSecond: Double(transfers) / 5, invariants: invariants, series: series, breakpoint: nil,
        memory: MemoryWatch(startBytes: 1, endBytes: 2, maxBytes: 3), unexpectedErrors: 0, outcomeUnknown: false,
        server: "own", dataDirectory: nil)
}

@Suite struct ReportTests {
    @Test func failuresAreCountedButNotInTheLatencyPercentiles() {
        let recorder = Recorder(stripes: 2)
        for i in 0..<100 {
            recorder.record(.operation(.createTransfers), worker: i, micros: 5_000)
            // Refused at once: without the rule these 100 samples would make p50 3 µs.
            recorder.record(.operation(.createTransfers), worker: i, micros: 3, error: "busy")
        }
        let window = recorder.takeWindow()
        #expect(window.requests == 200 && window.errors == 100)
        #expect(window.p99 >= 4_900)
        let total = recorder.totals().cells[Metric.operation(.createTransfers).index]
        let summary = MetricSummary(name: "create_transfers", totals: total, seconds: 1)
        #expect(summary.count == 200 && summary.errors == 100 && summary.perSecond == 200)
        #expect(summary.p50 >= 4_900 && summary.histogram.totalCount == 100)
    }

    @Test func jsonHasTheIssueFields() throws {
        let text = JSONReport.document(sampleReport()).render()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(root["scenario"] as? String == "load")
        #expect(root["mix"] as? String == "transfers")
        let machine = try #require(root["machine"] as? [String: Any])
        #expect(machine["cores"] as? Int == 2)
        #expect(machine["memory_bytes"] as? Int == 1 << 34)
        #expect(root["duration_s"] as? Double == 5)
        #expect(root["invariants_ok"] as? Bool == true)
        #expect((root["transfers_per_second"] as? Double ?? 0) == 500 * 8189 / 5)
        let ops = try #require(root["operations"] as? [String: Any])
        let ct = try #require(ops["create_transfers"] as? [String: Any])
        #expect(ct["count"] as? Int == 500)
        #expect(ct["errors"] as? Int == 0)
        #expect(ct["per_second"] as? Double == 100)
        let lat = try #require(ct["latency_us"] as? [String: Any])
        for key in ["p50", "p90", "p95", "p99", "p999", "max"] { #expect(lat[key] is Int, "latency_us.\(key)") }
        #expect((lat["p50"] as? Int ?? 0) <= (lat["p99"] as? Int ?? 0))
        let la = try #require(ops["lookup_accounts"] as? [String: Any])
        #expect(la["errors"] as? Int == 1)
        #expect((la["errors_by_status"] as? [String: Any])?["busy"] as? Int == 1)
        #expect((ct["results_by_status"] as? [String: Any])?["exceeds_credits"] as? Int == 5)
        let series = try #require(root["series"] as? [[String: Any]])
        #expect(series.count == 5)
    }

    @Test func jsonEscapesStrings() {
        #expect(JSONValue.string("a\"b\\c\n<").render() == #""a\"b\\c\n\u003c""#)
        #expect(JSONValue.double(.nan).render() == "null")
    }

    @Test func htmlHasThePlotsAndTheirData() throws {
        let html = HTMLReport.render(sampleReport(mix: .bank))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("http://") || !html.contains("<script src"), "no external resources")
        #expect(!html.contains("<script src"))
        #expect(!html.contains("<link "))
        #expect(html.contains("Transfers created per second"))
                #expect(html.contains("latency per second"))
        #expect(html.contains("data-series=\"transfers/s\""))
        #expect(html.contains("data-series=\"create_transfers\""))
        #expect(html.contains("data-series=\"p99\""))
        #expect(html.contains("data-series=\"balance\""))
        // One percentile chart per kind, one line per metric, each named in a legend.
        #expect(html.contains("Latency by percentile, per operation"))
        #expect(html.contains("Latency by percentile, per bank action"))
        #expect(html.contains("class=\"legend\">create_transfers</text>"))
        // In the per-operation chart: exactly one line per operation, each with its legend
        // entry (not one line per percentile).
        let chart = try #require(html.components(separatedBy: "Latency by percentile, per operation").dropFirst().first?
            .components(separatedBy: "</svg>").first)
        let lines = chart.components(separatedBy: "<polyline data-series=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(lines == ["create_transfers", "lookup_accounts"])
        #expect(chart.components(separatedBy: "class=\"legend\">").count - 1 == 2)
        #expect(html.contains("Server memory"))
        #expect(html.contains("id=\"kamino-bench-data\""))
        // Each time-series polyline has one point per interval.
        let line = html.split(separator: "\n").first { $0.contains("data-series=\"transfers/s\"") } ?? ""
        let points = line.split(separator: "points=\"").last?.split(separator: "\"").first ?? ""
        #expect(points.split(separator: " ").count == 5)
    }

    /// The open model's figures: a line in the table, an object in the JSON, a chart of
    /// intended against achieved rate in the HTML; a run stopped early says so everywhere.
    @Test func openModelAndEarlyStopAreReported() throws {
        var r = sampleReport()
        for i in r.series.indices { r.series[i].targetRate = 100 }
        r.openLoop = OpenLoopOutcome(targetRate: 100, peakRate: 100, cap: 64, due: 500, sent: 498, sentPerSecond: 99.6,
                                     late: 7, lateAllBusy: 2, maxLateMicros: 4200, dropped: 2)
        r.abortReason = "interrupted by SIGINT"
        r.interruptSignal = SIGINT
        let table = TableReport.render(r)
        #expect(table.hasPrefix("\nSTOPPED EARLY: interrupted by SIGINT\n"))
        #expect(table.contains("open model: 100/s intended, 500 due, 498 sent (99.60/s), 7 late (> 1 ms; worst 4.20 ms; 2 with all 64 in flight), 2 dropped"))
        #expect(table.contains("the in-flight cap was reached"))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(JSONReport.document(r).render().utf8)) as? [String: Any])
        let open = try #require(root["open_model"] as? [String: Any])
        #expect(open["dropped"] as? Int == 2)
        #expect(open["late_all_busy"] as? Int == 2)
        #expect(root["completed"] as? Bool == false)
        #expect(root["exit_code"] as? Int == 130)
        #expect(((root["series"] as? [[String: Any]])?.first?["target_rate_per_second"] as? Double) == 100)
        let html = HTMLReport.render(r)
        #expect(html.contains("Intended and achieved rate (open model)"))
        #expect(html.contains("data-series=\"intended\""))
        #expect(html.contains("Stopped early: interrupted by SIGINT"))
    }

    @Test func tableFormatting() {
        #expect(Format.micros(850) == "850 µs")
        #expect(Format.micros(1234) == "1.23 ms")
        #expect(Format.micros(12_345) == "12.3 ms")
        #expect(Format.micros(2_500_000) == "2.50 s")
        #expect(Format.grouped(1_234_567) == "1,234,567")
        #expect(Format.grouped(12) == "12")
        #expect(Format.fixed(0.05, 1) == "0.1")
        #expect(Format.fixed(2.0, 0) == "2")
        let text = TableReport.render(sampleReport())
        let lines = text.split(separator: "\n")
        let header = lines.first { $0.hasPrefix("operation") }
        let row = lines.first { $0.hasPrefix("create_transfers") }
        #expect(header != nil && row != nil)
        if let header, let row {
            #expect(header.count == row.count, "columns line up")
            for h in ["count", "errors", "per second", "p50", "p90", "p95", "p99", "p99.9", "max"] {
                #expect(header.contains(h))
            }
        }
        #expect(text.contains("errors   lookup_accounts: busy ×1"))
        #expect(text.contains("money invariants (2 accounts): ok"))
    }

    @Test func invariantCheckCatchesImbalance() {
        let bad = InvariantCheck.evaluate(
            [Account(id: 1, debitsPosted: 5, ledger: 9, code: 1), Account(id: 2, creditsPosted: 4, ledger: 9, code: 1)],
            ledger: 9, expectedCount: 2, expectedPosted: nil, expectedPending: nil)
        #expect(!bad.ok)
        let overdrawn = InvariantCheck.evaluate(
            [Account(id: 1, debitsPosted: 5, ledger: 9, code: 1, flags: .debitsMustNotExceedCredits),
             Account(id: 2, creditsPosted: 5, ledger: 9, code: 1)],
            ledger: 9, expectedCount: 2, expectedPosted: 5, expectedPending: 0)
        #expect(!overdrawn.ok)
        let missing = InvariantCheck.evaluate([], ledger: 9, expectedCount: 2, expectedPosted: nil, expectedPending: nil)
        #expect(!missing.ok)
    }

    @Test func statusNames() {
        #expect(ErrorLabels.snakeCase(CreateTransferStatus.exceedsCredits) == "exceeds_credits")
        #expect(ErrorLabels.snakeCase(CreateTransferStatus.created) == "created")
    }
}
