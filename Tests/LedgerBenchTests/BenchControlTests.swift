import Foundation
import Glibc
import KaminoTestSupport
import LedgerBench
import Testing

/// The real `kamino bench` binary: thresholds decide the exit status, `--rate` holds its
/// rate, a server killed mid-run or Ctrl-C still yields the table and the JSON, and an
/// unwritable output path fails before the run. A few seconds each.
@Suite(.serialized) struct BenchControlTests {
    /// A scratch directory for one test, removed afterwards by the caller.
    private func scratch(_ tag: String) -> String {
        let dir = "/tmp/kamino-bench-control-\(tag)-\(getpid())"
        _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null")
        mkdir(dir, 0o755)
        return dir
    }

    private func text(_ path: String) -> String { String(decoding: fileBytes(path), as: UTF8.self) }

    private func json(_ path: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(fileBytes(path))) as? [String: Any]
    }

    /// Waits until `log` contains `marker` (false after `seconds`).
    private func waitFor(_ marker: String, in log: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if text(log).contains(marker) { return true }
            usleep(50_000)
        }
        return false
    }

    /// Waits for `pid` to exit; its exit status (128 + signal when killed), or nil after `seconds` (then killed).
    private func exitStatus(_ pid: pid_t, seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
    }

    @Test(.timeLimit(.minutes(1))) func failedThresholdExitsOne() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = scratch("threshold")
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let common = ["--duration", "1", "--accounts", "100", "--batch-size", "10", "--seed", "3"]
        let status = runProcess(
            [kamino, "bench"] + common + ["--threshold", "create_transfers:p99<1us", "--threshold", "requests:error_rate<1%",
                                          "--json", dir + "/a.json", "--html", dir + "/a.html"],
            log: dir + "/a.txt")
        let out = text(dir + "/a.txt")
        #expect(status == 1, "\(out)")
        #expect(out.contains("money invariants (100 accounts): ok"), "the money is fine: only the threshold fails")
        #expect(out.contains("thresholds: 1 of 2 FAILED"), "\(out)")
        #expect(out.contains("create_transfers:p99<1 µs  FAIL"), "\(out)")
        #expect(out.contains("requests:error_rate<1.00 %  pass"), "\(out)")
        let r = try #require(json(dir + "/a.json"), "\(out)")
        #expect(r["thresholds_ok"] as? Bool == false)
        #expect(r["exit_code"] as? Int == 1)
        let rules = try #require(r["thresholds"] as? [[String: Any]])
        #expect(rules.map { $0["ok"] as? Bool } == [false, true])
        let run = try #require(r["run"] as? [String: Any])
        #expect((run["started_at"] as? String)?.hasSuffix("Z") == true)
        #expect((run["git_commit"] as? String)?.isEmpty == false)
        #expect((run["command_line"] as? [String])?.contains("create_transfers:p99<1us") == true)
        #expect(((run["host"] as? [String: Any])?["nproc"] as? Int ?? 0) >= 1)
        #expect(text(dir + "/a.html").contains(">FAIL</td>"))

        // A loose rule passes; the smoke scenario is a minimal load (10/s, batches of 100, open
        // model); --compare prints the differences with the first run.
        let status2 = runProcess(
            [kamino, "bench", "--scenario", "smoke", "--duration", "1", "--accounts", "100",
             "--threshold", "create_transfers:p99<60s", "--compare", dir + "/a.json", "--json", dir + "/b.json"],
            log: dir + "/b.txt")
        let out2 = text(dir + "/b.txt")
        #expect(status2 == 0, "\(out2)")
        #expect(out2.contains("thresholds: all 1 passed"), "\(out2)")
        #expect(out2.contains("compared with \(dir)/a.json (throughput, "), "\(out2)")
        #expect(out2.contains("create_transfers p99"), "\(out2)")
        let b = try #require(json(dir + "/b.json"), "\(out2)")
        #expect(b["scenario"] as? String == "smoke")
        let config = try #require(b["configuration"] as? [String: Any])
        #expect(config["batch_size"] as? Int == 100)
        #expect(config["model"] as? String == "open")
        #expect((b["open_model"] as? [String: Any])?["target_rate_per_second"] as? Double == 10)
        #expect((b["comparison"] as? [String: Any])?["rows"] is [Any])
    }

    @Test(.timeLimit(.minutes(1))) func rateHoldsWithinFivePercent() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = scratch("rate")
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let status = runProcess(
            [kamino, "bench", "--rate", "200/s", "--duration", "3", "--accounts", "1000", "--batch-size", "10",
             "--json", dir + "/r.json"], log: dir + "/out.txt")
        let out = text(dir + "/out.txt")
        #expect(status == 0, "\(out)")
        let r = try #require(json(dir + "/r.json"), "\(out)")
        let open = try #require(r["open_model"] as? [String: Any], "\(out)")
        let sent = try #require(open["sent_per_second"] as? Double)
        #expect(abs(sent - 200) <= 10, "sent \(sent)/s for 200/s intended")
        #expect(open["dropped"] as? Int == 0, "\(open)")
        let ops = try #require(r["operations"] as? [String: Any])
        let ct = try #require(ops["create_transfers"] as? [String: Any])
        let perSecond = try #require(ct["per_second"] as? Double)
        #expect(abs(perSecond - 200) <= 10, "create_transfers \(perSecond)/s for 200/s intended")
        #expect((r["duration_s"] as? Double).map { abs($0 - 3) < 0.5 } == true, "\(r["duration_s"] ?? "")")
        #expect((r["configuration"] as? [String: Any])?["model"] as? String == "open")
        #expect(out.contains("open model: 200/s intended, 600 due"), "\(out)")
    }

    /// A server killed with SIGKILL mid-run: the bench stops after its failures in a row,
    /// prints the table and writes the JSON, and exits 1.
    @Test(.timeLimit(.minutes(1))) func killedServerStillYieldsTheReport() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = scratch("killed")
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let server = try OwnServer.start(executable: kamino, keepData: nil, extra: [])
        defer { server.stop() }
        let log = dir + "/out.txt"
        let pid = try #require(spawnProcess(
            [kamino, "bench", "--address", server.address, "--scenario", "load", "--duration", "30", "--accounts", "100",
             "--batch-size", "10", "--request-timeout", "2", "--json", dir + "/r.json", "--html", dir + "/r.html"],
            stdout: log, stderr: log))
        #expect(waitFor("setup: ", in: log, seconds: 20), "\(text(log))")
        usleep(1_000_000)
        kill(server.pid, SIGKILL)
        // Not reaped yet (this process is its parent): still seen as exited, as the bench
        // sees its own server.
        var gone = false
        for _ in 0..<100 where !gone {
            gone = server.hasExited
            usleep(20_000)
        }
        #expect(gone)
        let status = exitStatus(pid, seconds: 30)
        let out = text(log)
        #expect(status == 1, "\(out)")
        #expect(out.contains("STOPPED EARLY: 100 requests in a row failed"), "\(out)")
        #expect(out.split(separator: "\n").contains { $0.hasPrefix("create_transfers ") }, "the table: \(out)")
        #expect(out.contains("money invariants"), "\(out)")
        let r = try #require(json(dir + "/r.json"), "\(out)")
        #expect(r["completed"] as? Bool == false)
        #expect((r["stopped_early"] as? String)?.contains("in a row") == true)
        #expect(r["invariants_ok"] as? Bool == false)
        let ct = try #require((r["operations"] as? [String: Any])?["create_transfers"] as? [String: Any])
        #expect((ct["count"] as? Int ?? 0) > 100)
        #expect((r["duration_s"] as? Double ?? 99) < 20, "it stopped instead of running out its 30 s")
        #expect(!fileBytes(dir + "/r.html").isEmpty)
    }

    /// The bench's own server killed mid-run: the bench sees it exit, stops at once, and
    /// still prints the table and writes the JSON.
    @Test(.timeLimit(.minutes(1))) func ownServerKilledStillYieldsTheReport() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = scratch("own")
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let log = dir + "/out.txt"
        let pid = try #require(spawnProcess(
            [kamino, "bench", "--scenario", "load", "--duration", "30", "--accounts", "100", "--batch-size", "10",
             "--json", dir + "/r.json"], stdout: log, stderr: log))
        #expect(waitFor("setup: ", in: log, seconds: 30), "\(text(log))")
        usleep(500_000)
        let server = try #require(childProcesses(of: pid).first, "the bench's server")
        kill(server, SIGKILL)
        let status = exitStatus(pid, seconds: 30)
        let out = text(log)
        #expect(status == 1, "\(out)")
        #expect(out.contains("STOPPED EARLY: the server (pid \(server)) exited during the run"), "\(out)")
        #expect(out.contains("money check ran: the server exited during the run"), "\(out)")
        #expect(out.split(separator: "\n").contains { $0.hasPrefix("create_transfers ") }, "the table: \(out)")
        let r = try #require(json(dir + "/r.json"), "\(out)")
        #expect(r["completed"] as? Bool == false)
        #expect((r["duration_s"] as? Double ?? 99) < 20)
    }

    /// The processes whose parent is `pid` (from /proc/N/stat, field 4).
    private func childProcesses(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> pid_t? in
            guard let child = pid_t(name) else { return nil }
            let stat = text("/proc/\(name)/stat")
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }
    }

    /// Ctrl-C (SIGINT): the run stops, the money is checked on the still-running server,
    /// the table and the JSON are written, and the exit status is 130.
    @Test(.timeLimit(.minutes(1))) func interruptStillYieldsTheReport() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = scratch("sigint")
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let log = dir + "/out.txt"
        let pid = try #require(spawnProcess(
            [kamino, "bench", "--scenario", "load", "--duration", "30", "--accounts", "100", "--batch-size", "10",
             "--json", dir + "/r.json"], stdout: log, stderr: log))
        #expect(waitFor("setup: ", in: log, seconds: 30), "\(text(log))")
        usleep(1_000_000)
        kill(pid, SIGINT)
        let status = exitStatus(pid, seconds: 30)
        let out = text(log)
        #expect(status == 130, "\(out)")
        #expect(out.contains("STOPPED EARLY: interrupted by SIGINT"), "\(out)")
        #expect(out.contains("money invariants (100 accounts): ok"), "the own server outlived Ctrl-C: \(out)")
        let r = try #require(json(dir + "/r.json"), "\(out)")
        #expect(r["completed"] as? Bool == false)
        #expect(r["exit_code"] as? Int == 130)
        #expect((r["duration_s"] as? Double ?? 99) < 20)
    }

    /// `--json` into a directory that cannot exist: refused at once, before any server starts.
    @Test(.timeLimit(.minutes(1))) func unwritablePathFailsBeforeTheRun() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = scratch("unwritable")
        defer { _ = runProcess(["/bin/rm", "-rf", dir], log: "/dev/null") }
        let file = dir + "/plain-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let started = Date()
        let status = runProcess([kamino, "bench", "--duration", "30", "--json", file + "/r.json"], log: dir + "/out.txt")
        let out = text(dir + "/out.txt")
        #expect(status == 1, "\(out)")
        #expect(out.contains("--json \(file)/r.json cannot be written: Not a directory"), "\(out)")
        #expect(!out.contains("server: "), "no server was started: \(out)")
        #expect(Date().timeIntervalSince(started) < 10)
        // An HTML path in a missing directory likewise; a writable path is left as it was.
        let status2 = runProcess([kamino, "bench", "--json", dir + "/ok.json", "--report", dir + "/missing/r.html"],
                                 log: dir + "/out2.txt")
        #expect(status2 == 1)
        #expect(text(dir + "/out2.txt").contains("--report \(dir)/missing/r.html cannot be written"))
        #expect(access(dir + "/ok.json", F_OK) != 0, "the check leaves no empty file behind")
    }
}
