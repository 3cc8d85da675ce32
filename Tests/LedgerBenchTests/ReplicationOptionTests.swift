import Foundation
import Testing
@testable import LedgerBench

/// `--followers N --replication MODE`: the option rules, and where the report shows them.
struct ReplicationOptionTests {
    @Test func followerOptionsAreChecked() {
        var c = BenchConfiguration()
        c.followers = 2
        #expect(throws: BenchError.self) { try c.validate() }  // no mode
        c.replication = .async
        #expect(throws: Never.self) { try c.validate() }
        c.followers = 5
        #expect(throws: BenchError.self) { try c.validate() }
        c.followers = 0
        #expect(throws: Never.self) { try c.validate() }  // async alone: replication with nobody attached
        c.replication = .sync
        #expect(throws: BenchError.self) { try c.validate() }  // sync without a follower never acknowledges
        c.followers = 1
        #expect(throws: Never.self) { try c.validate() }
        c.address = "127.0.0.1:3000"
        #expect(throws: BenchError.self) { try c.validate() }  // followers only for the bench's own server
    }

    @Test func reportShowsFollowersAndDigests() throws {
        var report = sampleReport()
        report.configuration.followers = 2
        report.configuration.replication = .sync
        report.replicas = ReplicaOutcome(followers: 2, mode: .sync, digestsEqual: true, detail: "digest ab")
        let table = TableReport.render(report)
        #expect(table.contains("scenario load, mix transfers, 2 sync followers, "))
        #expect(table.contains("followers: 2, digests equal"))
        #expect(report.exitCode == 0)

        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(JSONReport.document(report).render().utf8)) as? [String: Any])
        let configuration = try #require(root["configuration"] as? [String: Any])
        #expect(configuration["followers"] as? Int == 2)
        #expect(configuration["replication"] as? String == "sync")
        #expect((root["replicas"] as? [String: Any])?["digests_equal"] as? Bool == true)

        report.replicas?.digestsEqual = false
        report.replicas?.detail = "primary ab, follower 2: cd"
        #expect(TableReport.render(report).contains("followers: 2, digests DIFFER: primary ab, follower 2: cd"))
        #expect(report.exitCode == 1)
    }

    @Test func noReplicationByDefault() throws {
        let report = sampleReport()
        #expect(TableReport.render(report).contains("scenario load, mix transfers, no followers, "))
        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(JSONReport.document(report).render().utf8)) as? [String: Any])
        let configuration = try #require(root["configuration"] as? [String: Any])
        #expect(configuration["followers"] as? Int == 0)
        #expect(configuration["replication"] is NSNull)
        #expect(root["replicas"] == nil)
    }

    @Test func metricsSampleIsRead() {
        let page = "# HELP kamino_log_durable_lsn x\nkamino_log_durable_lsn_other 9\nkamino_log_durable_lsn 1234\n"
        #expect(MetricsScrape.sample("kamino_log_durable_lsn", in: page) == 1234)
        #expect(MetricsScrape.sample("kamino_log_logged_lsn", in: page) == nil)
    }
}
