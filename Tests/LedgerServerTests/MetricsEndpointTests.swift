import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

@Suite("Operator endpoint: /metrics, /healthz, /readyz", .serialized)
struct MetricsEndpointTests {
    @Test func metricsPassPromtoolAndCarryTheHistograms() throws {
        let dir = temporaryDataDir("metrics")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir, metrics: true), "kamino serve did not start")
        defer { server.terminate() }
        let port = try #require(server.metricsPort)
        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts([
            Account(id: 1, ledger: 1, code: 1),
            Account(id: 2, ledger: 1, code: 1, flags: .debitsMustNotExceedCredits),
        ]))))
        #expect(allCreated(client.call(.createTransfers([transfer(10, from: 1, to: 2, amount: 5)]))))
        // One refused by the balance limit, one lookup.
        guard case .reply(_, .createTransfers(let refused), _) =
            client.call(.createTransfers([transfer(11, from: 2, to: 1, amount: 50)])) else {
            Issue.record("no create_transfers reply")
            return
        }
        #expect(refused.first?.status == .exceedsCredits)
        _ = client.call(.lookupAccounts([1, 2]))
        // An error reply: a frame with a bad body checksum on a second connection.
        let raw = try #require(WireTestClient(port: server.port))
        var frame = WireTestClient.frame(.lookupAccounts([1]), id: 99)
        frame[frame.count - 1] ^= 0xFF
        #expect(raw.sendRaw(frame))
        #expect(errorCode(raw.receive()) == .badBodyChecksum)

        let metrics = try #require(loopbackHTTPGet(port: port, path: "/metrics"))
        #expect(metrics.status == 200)
        let body = metrics.body
        for needle in [
            "# HELP kamino_request_duration_seconds ",
            "# TYPE kamino_request_duration_seconds histogram",
            "kamino_request_duration_seconds_bucket{operation=\"create_transfers\",le=\"0.001\"}",
            "kamino_request_duration_seconds_count{operation=\"lookup_accounts\"} 1",
            "kamino_results_total{operation=\"create_transfers\",status=\"created\"} 1",
            "kamino_results_total{operation=\"create_transfers\",status=\"exceeds_credits\"} 1",
            "kamino_results_total{operation=\"create_accounts\",status=\"created\"} 2",
            "kamino_error_replies_total{code=\"bad_body_checksum\"} 1",
            "# TYPE kamino_log_group_commit_records histogram",
            "kamino_log_group_commit_records_count 3",
            "# TYPE kamino_log_write_fdatasync_seconds histogram",
            "kamino_log_durable_lsn 3",
            "kamino_log_writable 1",
            "kamino_connections_open ",
            "kamino_requests_in_flight ",
            "kamino_received_bytes_total ",
            "kamino_sent_bytes_total ",
            "kamino_snapshot_age_seconds ",
            "kamino_recovery_seconds ",
            "kamino_build_info{version=",
            "process_resident_memory_bytes ",
            "process_open_fds ",
        ] {
            #expect(body.contains(needle), "missing \(needle)")
        }

        // promtool (Debian's prometheus package, installed by scripts/setup) accepts it.
        let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        let checked = try #require(candidates.first { path in access(path, X_OK) == 0 },
                                   "promtool is not installed (apt-get install prometheus)")
        let file = dir + ".metrics.txt"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = Array(body.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let log = dir + ".promtool.out"
        let status = runProcess(["/bin/sh", "-c", "'\(checked)' check metrics < '\(file)'"], log: log)
        #expect(status == 0, "promtool check metrics: \(String(decoding: fileBytes(log), as: UTF8.self))")

        #expect(loopbackHTTPGet(port: port, path: "/healthz")?.status == 200)
        #expect(loopbackHTTPGet(port: port, path: "/readyz")?.status == 200)
        #expect(loopbackHTTPGet(port: port, path: "/nothing")?.status == 404)
    }

    @Test func snapshotLSNAndBuildMetricsMove() throws {
        let dir = temporaryDataDir("metrics-snapshot")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir, extra: ["--snapshot-every", "2"], metrics: true),
                                  "kamino serve did not start")
        defer { server.terminate() }
        let port = try #require(server.metricsPort)
        let before = loopbackHTTPGet(port: port, path: "/metrics")?.body ?? ""
        #expect(sample(before, "kamino_snapshot_age_seconds") == -1, "no snapshot yet: \(before)")
        #expect(sample(before, "kamino_snapshot_write_seconds_count") ?? 0 == 0)

        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))
        #expect(allCreated(client.call(.createTransfers([transfer(10, from: 1, to: 2, amount: 5)]))))
        // The snapshot at LSN 2 is written in the background.
        var body = ""
        let deadline = monotonicSeconds() + 30
        repeat {
            body = loopbackHTTPGet(port: port, path: "/metrics")?.body ?? ""
            if sample(body, "kamino_snapshot_write_seconds_count") == 1 { break }
            usleep(50_000)
        } while monotonicSeconds() < deadline
        #expect(sample(body, "kamino_snapshot_write_seconds_count") == 1, "no snapshot written: \(body)")
        #expect((sample(body, "kamino_snapshot_write_seconds_sum") ?? -1) > 0)
        #expect((sample(body, "kamino_snapshot_size_bytes") ?? 0) > 0)
        let age = sample(body, "kamino_snapshot_age_seconds") ?? -1
        #expect(age >= 0 && age < 60, "snapshot age \(age)")
        #expect(sample(body, "kamino_log_durable_lsn") == 2)
        #expect(sample(body, "kamino_log_logged_lsn") == 2, "the applied LSN")
        #expect((sample(body, "kamino_recovery_seconds") ?? -1) >= 0)
        #expect((sample(body, "process_resident_memory_bytes") ?? 0) > Double(1 << 20))
        #expect((sample(body, "process_open_fds") ?? 0) >= 3)
        #expect(sample(body, "kamino_connections_open") == 1)
        #expect((sample(body, "kamino_received_bytes_total") ?? 0) > 0)
        #expect((sample(body, "kamino_sent_bytes_total") ?? 0) > 0)

        // kamino_build_info carries what `kamino --version` prints.
        let kamino = try #require(builtExecutable("kamino"))
        let versionLog = dir + ".version.out"
        #expect(runProcess([kamino, "--version"], log: versionLog) == 0)
        let version = String(decoding: fileBytes(versionLog), as: UTF8.self)
        let words = version.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ")" || $0 == "\n" })
        try #require(words.count == 4 && words[0] == "kamino" && words[2] == "commit", "kamino --version: \(version)")
        #expect(words[1].split(separator: ".").count == 3 && words[1].split(separator: ".").allSatisfy { Int($0) != nil })
        // Built from a git checkout (this one), the commit is recorded: 12 hex digits.
        let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        if runProcess(["/usr/bin/git", "-C", "/" + root, "rev-parse", "HEAD"], log: dir + ".git.out") == 0 {
            let commit = words[3].split(separator: "-").first ?? ""
            #expect(commit.count == 12 && commit.allSatisfy(\.isHexDigit), "kamino --version: \(version)")
        }
        #expect(body.contains("kamino_build_info{version=\"\(words[1])\",commit=\"\(words[3])\"} 1")
                    || body.contains("kamino_build_info{commit=\"\(words[3])\",version=\"\(words[1])\"} 1"),
                "\(version) vs \(body.split(separator: "\n").filter { $0.hasPrefix("kamino_build_info") })")
    }
}

extension MetricsEndpointTests {
    /// The operator endpoint is up before recovery: /healthz answers while the log is
    /// replayed, /readyz says 503 until the ledger takes writes, then 200.
    @Test func healthzAnswersAndReadyzRefusesWhileRecovering() throws {
        let dir = temporaryDataDir("metrics-recovering")
        defer { removeDataDir(dir) }
        // A log long enough that replaying it takes a while (debug build: well over 100 ms).
        do {
            let server = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
            let client = try #require(WireTestClient(port: server.port, timeoutSeconds: 120))
            #expect(allCreated(client.call(.createAccounts(accounts(1)))))
            for batch in 0..<24 {
                let base = UInt128(1_000_000 + batch * 10_000)
                let transfers = (0..<8189).map { transfer(base + UInt128($0), from: 1, to: 2) }
                _ = client.send(.createTransfers(transfers))
            }
            for _ in 0..<24 { #expect(allCreated(client.receive())) }
            server.expectCleanExit()
        }
        let kamino = try #require(builtExecutable("kamino"))
        let out = dir + ".recovering.out"
        let pid = try #require(spawnProcess(
            [kamino, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"], stdout: out, stderr: out))
        defer {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        var metricsPort: UInt16?
        var readyWhileRecovering: [Int] = []
        var healthWhileRecovering: [Int] = []
        var listening = false
        let deadline = monotonicSeconds() + 60
        while monotonicSeconds() < deadline && !listening {
            let text = String(decoding: fileBytes(out), as: UTF8.self)
            listening = text.contains("listening on")
            if metricsPort == nil, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("metrics on ") }),
               let colon = line.lastIndex(of: ":") {
                metricsPort = UInt16(line[line.index(after: colon)...])
            }
            if let port = metricsPort, !listening, !text.contains("recovered") {
                // Asked before the recovery line was written: still recovering.
                if let health = loopbackHTTPGet(port: port, path: "/healthz")?.status { healthWhileRecovering.append(health) }
                if let ready = loopbackHTTPGet(port: port, path: "/readyz")?.status { readyWhileRecovering.append(ready) }
            }
            usleep(10_000)
        }
        let text = String(decoding: fileBytes(out), as: UTF8.self)
        try #require(listening, "the server did not start: \(text)")
        let port = try #require(metricsPort)
        // The endpoint came up before the recovery finished.
        let metricsAt = try #require(text.firstRange(of: "metrics on ")?.lowerBound)
        let recoveredAt = try #require(text.firstRange(of: "[kamino] recovered")?.lowerBound, "\(text)")
        #expect(metricsAt < recoveredAt, "the operator endpoint started only after recovery")
        #expect(!healthWhileRecovering.isEmpty && healthWhileRecovering.allSatisfy { $0 == 200 }, "\(healthWhileRecovering)")
        #expect(!readyWhileRecovering.isEmpty && readyWhileRecovering.allSatisfy { $0 == 503 }, "\(readyWhileRecovering)")
        #expect(loopbackHTTPGet(port: port, path: "/readyz")?.status == 200)
        let body = loopbackHTTPGet(port: port, path: "/metrics")?.body ?? ""
        #expect(sample(body, "kamino_log_durable_lsn") == 25)
    }
}

/// The value of the sample `name` (the whole series name, labels included) in a scrape.
private func sample(_ body: String, _ name: String) -> Double? {
    for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1))
    }
    return nil
}
