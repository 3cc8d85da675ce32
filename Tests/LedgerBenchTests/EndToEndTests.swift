import Foundation
import Glibc
import KaminoTestSupport
import LedgerBench
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
        #expect(r["scenario"] as? String == "throughput")
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
        // Its own server: the bench knows its pid and reports both sides' CPU.
        let cpu = try #require(r["cpu"] as? [String: Any])
        #expect((cpu["client_us_per_request"] as? Double ?? 0) > 0)
        #expect((cpu["server_us_per_request"] as? Double ?? 0) > 0)
        #expect((cpu["server_us_per_transfer"] as? Double ?? 0) > 0)
        #expect(out.contains("cpu per request: client "))
        #expect(!out.contains("server n/a"))
    }

    /// With `--transfers N` (transfers mix) the bench's own server gets `--expected-transfers N`:
    /// its memory is set aside before it listens; `--expected-transfers 0` turns that off.
    @Test(.timeLimit(.minutes(1))) func ownServerGetsTheExpectedTransfers() throws {
        let (status, root, out) = try runBench(
            ["--transfers", "20000", "--accounts", "100", "--batch-size", "1000", "--seed", "3"], tag: "expected")
        #expect(status == 0, "\(out)")
        #expect(out.contains("with --expected-transfers 20000"), "\(out)")
        #expect(root?["invariants_ok"] as? Bool == true)
        let (offStatus, _, offOut) = try runBench(
            ["--transfers", "20000", "--accounts", "100", "--batch-size", "1000", "--expected-transfers", "0"],
            tag: "expected-off")
        #expect(offStatus == 0, "\(offOut)")
        #expect(offOut.contains("server: kamino serve on") && !offOut.contains("--expected-transfers"), "\(offOut)")
    }

    /// A server given by `--address`: its CPU with `--server-pid`, "n/a" without.
    @Test(.timeLimit(.minutes(1))) func externalServerCPU() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let server = try OwnServer.start(executable: kamino, keepData: nil, extra: [])
        defer { server.stop() }
        let common = ["--address", server.address, "--duration", "1", "--accounts", "100", "--batch-size", "10"]
        let (status, root, out) = try runBench(common + ["--server-pid", String(server.pid)], tag: "pid")
        #expect(status == 0, "\(out)")
        let r = try #require(root, "\(out)")
        let cpu = try #require(r["cpu"] as? [String: Any])
        #expect((cpu["server_us_per_request"] as? Double ?? 0) > 0, "\(cpu)")

        let (status2, root2, out2) = try runBench(common, tag: "nopid")
        #expect(status2 == 0, "\(out2)")
        let r2 = try #require(root2, "\(out2)")
        let cpu2 = try #require(r2["cpu"] as? [String: Any])
        #expect(cpu2["server_us_per_request"] is NSNull)
        #expect((cpu2["client_us_per_request"] as? Double ?? 0) > 0)
        #expect(out2.contains("server n/a"))
        #expect(out2.contains("pass --server-pid"))
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
        let cpu = try #require(r["cpu"] as? [String: Any])
        #expect((cpu["server_us_per_action"] as? Double ?? 0) > 0)
        #expect((cpu["client_us_per_action"] as? Double ?? 0) > 0)
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
