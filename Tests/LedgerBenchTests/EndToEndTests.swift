import Foundation
import Glibc
import KaminoTestSupport
import Testing

/// `kamino bench` for real: it starts its own `kamino serve`, runs a few seconds, checks
/// the money and writes the JSON.
@Suite(.serialized) struct EndToEndTests {
    private func runBench(_ args: [String], tag: String) throws -> (Int32?, [String: Any]?, String) {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = "/tmp/kamino-bench-test-\(tag)-\(getpid())"
        _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null")
        mkdir(dir, 0o755)
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let json = dir + "/r.json"
        let log = dir + "/out.txt"
        let status = runProcess([kamino, "bench"] + args + ["--json", json, "--report", dir + "/r.html"], log: log)
        let out = String(decoding: fileBytes(log), as: UTF8.self)
        let root = try? JSONSerialization.jsonObject(with: Data(fileBytes(json))) as? [String: Any]
        #expect(!fileBytes(dir + "/r.html").isEmpty)
        return (status, root, out)
    }

    @Test(.timeLimit(.minutes(1))) func transfersRun() throws {
        let (status, root, out) = try runBench(
            ["--duration", "2", "--accounts", "1000", "--batch-size", "500", "--two-phase", "0.2", "--linked", "0.2",
             "--seed", "5"], tag: "transfers")
        #expect(status == 0, "\(out)")
        let r = try #require(root, "\(out)")
        #expect(r["scenario"] as? String == "smoke")
        #expect(r["mix"] as? String == "transfers")
        #expect(r["invariants_ok"] as? Bool == true)
        #expect((r["transfers_per_second"] as? Double ?? 0) > 0)
        #expect(r["machine"] is [String: Any])
        #expect(r["duration_s"] is Double)
        let ops = try #require(r["operations"] as? [String: Any])
        let ct = try #require(ops["create_transfers"] as? [String: Any])
        #expect((ct["count"] as? Int ?? 0) > 0)
        #expect(ct["errors"] as? Int == 0)
        #expect(ct["latency_us"] is [String: Any])
        #expect(out.contains("create_transfers"))
        #expect(out.contains("money invariants (1,000 accounts): ok"))
    }

    @Test(.timeLimit(.minutes(1))) func bankRun() throws {
        let (status, root, out) = try runBench(
            ["--mix", "bank", "--scenario", "load", "--duration", "2", "--accounts", "500", "--in-flight", "8",
             "--connections", "4", "--distribution", "zipf"], tag: "bank")
        #expect(status == 0, "\(out)")
        let r = try #require(root, "\(out)")
        #expect(r["invariants_ok"] as? Bool == true)
        let ops = try #require(r["operations"] as? [String: Any])
        for name in ["lookup_accounts", "get_account_transfers", "create_transfers", "create_accounts"] {
            #expect(ops[name] != nil, "\(name) in \(ops.keys)")
        }
        #expect((r["actions"] as? [String: Any])?.count == 5)
    }

    /// A primary and two sync followers: the run succeeds and the followers' digests
    /// equal the primary's.
    @Test(.timeLimit(.minutes(2))) func followersRun() throws {
        let (status, root, out) = try runBench(
            ["--duration", "2", "--accounts", "1000", "--batch-size", "1000", "--followers", "2", "--replication", "sync",
             "--seed", "7"], tag: "followers")
        #expect(status == 0, "\(out)")
        let r = try #require(root, "\(out)")
        #expect(r["invariants_ok"] as? Bool == true)
        let replicas = try #require(r["replicas"] as? [String: Any], "\(out)")
        #expect(replicas["followers"] as? Int == 2)
        #expect(replicas["digests_equal"] as? Bool == true)
        #expect(out.contains("followers: 2, digests equal"))
        #expect(out.contains("2 sync followers"))
    }

    @Test func followersWithAddressAreRefused() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let log = "/tmp/kamino-bench-test-refused-\(getpid()).txt"
        defer { unlink(log) }
        let status = runProcess([kamino, "bench", "--address", "127.0.0.1:1", "--followers", "1", "--replication", "async"],
                                log: log)
        #expect(status != 0)
        #expect(String(decoding: fileBytes(log), as: UTF8.self).contains("not with --address"))
    }

    @Test func badOptionIsRefused() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let status = runProcess([kamino, "bench", "--batch-size", "9000"], log: "/dev/null")
        #expect(status != 0)
    }
}
