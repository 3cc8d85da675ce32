import Testing
@testable import LedgerBench

/// `--threshold` rules: parsing, and judging them against a report built from samples.
@Suite struct ThresholdTests {
    @Test func parsesLatencyRules() throws {
        let t = try Threshold.parse("create_transfers:p99<5ms")
        #expect(t.metric == "create_transfers")
        #expect(t.statistic == .percentile(99))
        #expect(t.comparison == .less)
        #expect(t.limit == 5000)
        #expect(try Threshold.parse("lookup_accounts: p(99.9) <= 250us").limit == 250)
        #expect(try Threshold.parse("lookup_accounts:p99.9<=250us").statistic == .percentile(99.9))
        #expect(try Threshold.parse("balance:max<2s").limit == 2_000_000)
        #expect(try Threshold.parse("balance:mean<3").limit == 3000, "no unit: milliseconds, as in k6")
        #expect(try Threshold.parse("balance:avg>=1.5ms").statistic == .mean)
        #expect(try Threshold.parse("balance:med<1ms").statistic == .percentile(50))
        #expect(try Threshold.parse("balance:min>10µs").comparison == .greater)
    }

    @Test func parsesRatesErrorsAndCounts() throws {
        let rate = try Threshold.parse("create_transfers:rate>1000/s")
        #expect(rate.statistic == .rate && rate.limit == 1000 && rate.comparison == .greater)
        #expect(try Threshold.parse("transfers:rate>=50000").limit == 50000)
        let errors = try Threshold.parse("requests:error_rate<1%")
        #expect(errors.statistic == .errorRate && abs(errors.limit - 0.01) < 1e-12)
        #expect(try Threshold.parse("requests:error_rate<0.05").limit == 0.05)
        #expect(try Threshold.parse("create_transfers:errors<=0").statistic == .errors)
        #expect(try Threshold.parse("requests:count>10").limit == 10)
    }

    @Test func refusesBadRules() {
        for bad in ["create_transfers", "create_transfers:p99", "nope:p99<5ms", "create_transfers:p101<5ms",
                    "create_transfers:p99<fast", "create_transfers:p99=5ms", "transfers:p99<5ms",
                    "requests:p99<5ms", "requests:error_rate<150%", "requests:error_rate<2", "requests:count>1.5",
                    "create_transfers:rate>-1/s", "create_transfers:speed>1"] {
            #expect(throws: BenchError.self, "\(bad)") { try Threshold.parse(bad) }
        }
    }

    @Test func judgesAReport() throws {
        // sampleReport: create_transfers 500 requests, 1.0 ... 5.95 ms over 5 s; lookup_accounts
        // 500 requests 200 ... 299 µs with one busy error.
        var report = sampleReport()
        let rules = try [
            "create_transfers:p99<10ms", "create_transfers:p50>20ms", "create_transfers:rate>=100/s",
            "create_transfers:rate>100/s", "lookup_accounts:error_rate<1%", "lookup_accounts:errors<1",
            "lookup_accounts:max<300us", "get_account_transfers:p99<1s", "transfers:rate>800000/s",
            "requests:count==1000".replacingOccurrences(of: "==", with: ">="), "create_transfers:mean<5ms",
        ].map(Threshold.parse)
        let results = ThresholdCheck.evaluate(rules, report: report)
        #expect(results.map(\.ok) == [true, false, true, false, true, false, true, false, true, true, true])
        #expect(results[0].actual ?? 0 > 1000)
        #expect(results[7].actual == nil, "no get_account_transfers requests: no samples, not a pass")
        #expect(results[4].actual.map { abs($0 - 0.002) < 1e-12 } == true)
        report.thresholds = results
        #expect(!report.thresholdsOK)
        #expect(report.exitCode == 1)
        report.thresholds = results.filter(\.ok)
        #expect(report.exitCode == 0)
    }

    @Test func thresholdsAppearInTheTableTheJSONAndTheHTML() throws {
        var report = sampleReport()
        report.thresholds = ThresholdCheck.evaluate(
            try ["create_transfers:p99<10ms", "create_transfers:p50>20ms"].map(Threshold.parse), report: report)
        let table = TableReport.render(report)
        #expect(table.contains("thresholds: 1 of 2 FAILED"))
        #expect(table.contains("create_transfers:p99<10.0 ms  pass"))
        #expect(table.contains("create_transfers:p50>20.0 ms  FAIL"))
        let json = JSONReport.document(report).render()
        #expect(json.contains("\"thresholds_ok\": false"))
        #expect(json.contains("\"threshold\": \"create_transfers:p50>20ms\""))
        #expect(json.contains("\"exit_code\": 1"))
        let html = HTMLReport.render(report)
        #expect(html.contains("<h2>Thresholds</h2>"))
        #expect(html.contains("<code>create_transfers:p50&gt;20ms</code>"))
        #expect(html.contains(">FAIL</td>") && html.contains(">pass</td>"))
    }
}
