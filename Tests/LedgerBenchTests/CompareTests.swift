import Testing
@testable import LedgerBench

/// `--compare`: reading a baseline document back and the differences (no sockets).
@Suite struct CompareTests {
    @Test func parsesJSON() throws {
        let v = try #require(JSONValue.parse(#"{"a": [1, -2.5e1, true, null, "x\"\u00e9\ud83d\ude00"], "b": {}}"#))
        guard case .array(let items) = try #require(v["a"]) else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 5)
        #expect(items[0].number == 1)
        #expect(items[1].number == -25)
        #expect(items[4].text == "x\"é😀")
        #expect(v["b"]?.fields.isEmpty == true)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "1 2", "\"open"] {
            #expect(JSONValue.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func readsItsOwnDocumentBack() throws {
        var report = sampleReport(mix: .bank)
        report.metadata = RunMetadata(
            startedAt: .init(seconds: 1_796_630_400, nanoseconds: 5_000_000), measuredAt: .init(seconds: 1_796_630_401, nanoseconds: 0),
            endedAt: .init(seconds: 1_796_630_410, nanoseconds: 0), version: "0.4.0", commit: "abc123",
            commandLine: ["kamino", "bench"], host: HostInfo.current())
        let text = JSONReport.document(report).render()
        let figures = try BaselineComparison.Figures.read(try #require(JSONValue.parse(text)))
        #expect(figures == .of(report).with(label: "load, 2026-12-07T08:00:00.005Z, commit abc123"))
        #expect(throws: BenchError.self) { try BaselineComparison.Figures.read(.object([("a", .int(1))])) }
    }

    @Test func differencesInAbsoluteAndPercent() {
        let baseline = BaselineComparison.Figures(
            label: "throughput", transfersPerSecond: 500_000,
            metrics: [("create_transfers", 61, 12_000, 30_000, 40_000), ("lookup_accounts", 10, 100, 200, 300)])
        let current = BaselineComparison.Figures(
            label: "throughput", transfersPerSecond: 550_000,
            metrics: [("create_transfers", 67, 10_800, 33_000, 40_000), ("get_account_transfers", 5, 1, 2, 3)])
        let c = BaselineComparison.make(baseline: baseline, current: current, baselinePath: "base.json")
        let tps = c.rows[0]
        #expect(tps.name == "transfers/s" && tps.delta == 50_000 && tps.percent == 10)
        let p50 = c.rows.first { $0.name == "create_transfers p50" }
        #expect(p50?.delta == -1200)
        #expect(p50?.percent == -10)
        #expect(c.rows.first { $0.name == "lookup_accounts p99" }?.current == nil)
        #expect(c.rows.first { $0.name == "get_account_transfers max" }?.baseline == nil)
        let text = c.render()
        #expect(text.hasPrefix("compared with base.json (throughput):"))
        let line = text.split(separator: "\n").first { $0.hasPrefix("create_transfers p50") } ?? ""
        #expect(line.contains("12.0 ms") && line.contains("10.8 ms") && line.hasSuffix("-1.20 ms (-10.0 %)"), "\(line)")
        let tpsLine = text.split(separator: "\n").first { $0.hasPrefix("transfers/s") } ?? ""
        #expect(tpsLine.hasSuffix("+50,000 (+10.0 %)"), "\(tpsLine)")
        #expect(text.contains("lookup_accounts p99"))
        let json = c.json.render()
        #expect(json.contains("\"metric\": \"create_transfers p99\""))
    }
}

extension BaselineComparison.Figures {
    func with(label: String) -> Self {
        var copy = self
        copy.label = label
        return copy
    }
}
