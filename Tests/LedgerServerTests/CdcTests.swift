import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerEngine
import LedgerWire
import Testing

/// `kamino cdc` (docs/cdc.md) against a real server's data directory: exactly the committed
/// events in log order, a resumed suffix, `--follow` picking up new transfers, and never a
/// record beyond the server's commit_lsn.
@Suite("kamino cdc: the change stream of a data directory", .serialized)
struct CdcTests {
    /// Runs `kamino cdc ARGS` to completion; (exit status, stdout lines, stderr).
    func cdc(_ args: [String]) throws -> (status: Int32?, lines: [String], stderr: String) {
        let kamino = try #require(builtExecutable("kamino"))
        let out = "/tmp/kamino-cdc-test-\(getpid()).out"
        let err = "/tmp/kamino-cdc-test-\(getpid()).err"
        _ = unlink(out)
        _ = unlink(err)
        defer {
            _ = unlink(out)
            _ = unlink(err)
        }
        let pid = try #require(spawnProcess([kamino, "cdc"] + args, stdout: out, stderr: err))
        var status: Int32 = 0
        let exit: Int32? = waitpid(pid, &status, 0) == pid && status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
        let text = String(decoding: fileBytes(out), as: UTF8.self)
        return (exit, text.split(separator: "\n").map(String.init), String(decoding: fileBytes(err), as: UTF8.self))
    }

    /// The results of a `create_transfers` call.
    func transferResults(_ message: Message?) -> [CreateTransferResult] {
        if case .reply(_, .createTransfers(let r), _)? = message { return r }
        return []
    }

    /// The value of the first string field `name` of a line, as a u64.
    func field(_ name: String, _ line: String) -> UInt64? {
        guard let start = line.range(of: "\"\(name)\":\"")?.upperBound, let end = line[start...].firstIndex(of: "\"") else {
            return nil
        }
        return UInt64(line[start..<end])
    }

    /// The `"lsn"` of a line.
    func lsn(_ line: String) -> UInt64? { field("lsn", line) }

    /// The created event of `transfer` as the server stored it at `timestamp`, event `index`
    /// of the `of` its record publishes.
    func created(_ lsn: UInt64, _ transfer: Transfer, _ timestamp: UInt64, index: Int = 0, of count: Int = 1) -> String {
        var t = transfer
        t.timestamp = timestamp
        return ChangeEvent(lsn: lsn, timestamp: timestamp, kind: .created(t), object: .transfer(t), index: index,
                           recordEvents: count).jsonLine
    }

    /// `n` (below 100) in two digits.
    func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Waits up to 10 s for the snapshot of `lsn` in `dir`.
    func waitForSnapshot(_ dir: String, _ lsn: UInt64) -> Bool {
        let digits = String(lsn)
        let path = dir + "/snapshot-" + String(repeating: "0", count: 20 - digits.count) + digits + ".snap"
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline {
            if access(path, F_OK) == 0 { return true }
            usleep(10_000)
        }
        return false
    }

    /// The server runs the serial ledger, then 2 shards: the stream's serial replay gives the
    /// results the server answered either way. It snapshots every 3 records (it keeps the
    /// newest two): a resume point at or above a snapshot starts from it.
    @Test(
        "Accounts, single-phase, posted, voided and expired transfers; failed ones absent; --from a middle LSN",
        arguments: [[String](), ["--shards", "2"]])
    func eventsInLogOrder(extra: [String]) throws {
        let dir = temporaryDataDir("cdc")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir, extra: extra + ["--snapshot-every", "3"]),
                                  "kamino serve did not start")
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        var expected: [String] = []

        // LSN 1: two accounts.
        let accountsAnswer = client.call(.createAccounts(accounts(1)))
        guard case .reply(_, .createAccounts(let made), _)? = accountsAnswer, made.count == 2 else {
            Issue.record("no create_accounts reply: \(String(describing: accountsAnswer))")
            return
        }
        for (index, (account, result)) in zip(accounts(1), made).enumerated() {
            #expect(result.status == .created)
            var a = account
            a.timestamp = result.timestamp
            expected.append(ChangeEvent(lsn: 1, timestamp: result.timestamp, kind: .accountCreated, object: .account(a),
                                        index: index, recordEvents: 2).jsonLine)
        }
        // Each call below is one record: LSN 2, 3, ...
        func step(_ lsn: UInt64, _ batch: [Transfer], created: [Bool]) {
            // One snapshot at a time: the one due at LSN 3k is written before LSN 3k + 3 comes.
            // (A snapshot due while the previous one is still finishing is skipped: give it time.)
            if lsn % 3 == 1 {
                #expect(waitForSnapshot(dir, lsn - 1), "no snapshot at LSN \(lsn - 1)")
                usleep(200_000)
            }
            let results = transferResults(client.call(.createTransfers(batch)))
            #expect(results.map { $0.status == .created } == created, "LSN \(lsn): \(results)")
            let count = results.filter { $0.status == .created }.count
            for (index, (t, r)) in zip(batch, results).filter({ $0.1.status == .created }).enumerated() {
                expected.append(self.created(lsn, t, r.timestamp, index: index, of: count))
            }
        }
        step(2, [transfer(100, from: 1, to: 2, amount: 10), transfer(101, from: 2, to: 1, amount: 3)], created: [true, true])
        var pending = transfer(200, from: 1, to: 2, amount: 20)
        pending.flags = .pending
        step(3, [pending], created: [true])
        var post = transfer(201, from: 1, to: 2, amount: 20)
        post.pendingId = 200
        post.flags = .postPendingTransfer
        step(4, [post], created: [true])
        pending.id = 300
        step(5, [pending], created: [true])
        var void = transfer(301, from: 1, to: 2, amount: 20)
        void.pendingId = 300
        void.flags = .voidPendingTransfer
        step(6, [void], created: [true])
        // A failed transfer (unknown account), and a linked chain whose second member fails.
        step(7, [transfer(500, from: 1, to: 99)], created: [false])
        var first = transfer(600, from: 1, to: 2, amount: 1)
        first.flags = .linked
        step(8, [first, transfer(601, from: 1, to: 98)], created: [false, false])
        // LSN 9: a pending transfer with a 1 s timeout; the server's pulse expires it (LSN 10).
        var expiring = transfer(400, from: 2, to: 1, amount: 4)
        expiring.flags = .pending
        expiring.timeout = 1
        let expiringResults = transferResults(client.call(.createTransfers([expiring])))
        try #require(expiringResults.map(\.status) == [.created])
        expected.append(created(9, expiring, expiringResults[0].timestamp))
        let deadline = monotonicSeconds() + 10
        var released = false
        while monotonicSeconds() < deadline, !released {
            if case .reply(_, .lookupAccounts(let found), _)? = client.call(.lookupAccounts([2])), found.first?.debitsPending == 0 {
                released = true
            } else {
                usleep(50_000)
            }
        }
        try #require(released, "the pending transfer did not expire")

        let all = try cdc(["--data", dir, "--from", "0"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.lines.count == expected.count + 1, "\(all.lines.joined(separator: "\n"))")
        #expect(Array(all.lines.prefix(expected.count)) == expected)
        // The last line: the expiry, by the pulse (LSN 10), at or after the deadline.
        let expiryLine = try #require(all.lines.last)
        #expect(lsn(expiryLine) == 10)
        let stamp = try #require(field("timestamp", expiryLine))
        expiring.timestamp = expiringResults[0].timestamp
        #expect(stamp >= expiring.timestamp + 1_000_000_000, "expired at \(stamp), before its deadline")
        #expect(expiryLine == ChangeEvent(lsn: 10, timestamp: stamp, kind: .twoPhaseExpired, object: .transfer(expiring)).jsonLine)
        // The kinds, in order.
        let kinds = all.lines.compactMap { line in ChangeEvent.Kind.allCases.first { line.contains("\"type\":\"\($0.rawValue)\"") } }
        #expect(kinds == [.accountCreated, .accountCreated, .singlePhase, .singlePhase, .twoPhasePending, .twoPhasePosted,
                          .twoPhasePending, .twoPhaseVoided, .twoPhasePending, .twoPhaseExpired])

        // Resuming after LSN 4 prints exactly the events of the records after it.
        let suffix = try cdc(["--data", dir, "--from", "4"])
        #expect(suffix.status == 0, "\(suffix.stderr)")
        #expect(suffix.lines == all.lines.filter { (lsn($0) ?? 0) > 4 })
        #expect(suffix.lines.count == 4)
        // From each snapshot the server kept (the newest two of LSN 3, 6 and 9: the one of
        // LSN 9 holds the pending transfer the pulse of LSN 10 expires), and one LSN after it.
        let kept = (1...10).filter { access(dir + "/snapshot-" + String(repeating: "0", count: 18) + String(format2($0)) + ".snap", F_OK) == 0 }
        #expect(kept.count == 2 && kept.contains(6), "snapshots kept: \(kept)")
        for snapshot in kept {
            for from in [UInt64(snapshot), UInt64(snapshot) + 1] {
                let resumed = try cdc(["--data", dir, "--from", "\(from)"])
                #expect(resumed.status == 0, "\(resumed.stderr)")
                #expect(resumed.stderr.contains("rebuilt from snapshot LSN \(snapshot) and the log"), "\(resumed.stderr)")
                #expect(resumed.lines == all.lines.filter { (lsn($0) ?? 0) > from })
            }
        }
        // After the last record: nothing; beside the live server, bounded by its commit_lsn: the same.
        let end = try cdc(["--data", dir, "--from", "10"])
        #expect(end.status == 0 && end.lines.isEmpty, "\(end.lines) \(end.stderr)")
        // Beyond the end of the directory's history: refused, never silently waited out.
        let beyond = try cdc(["--data", dir, "--from", "11"])
        #expect(beyond.status == 1 && beyond.lines.isEmpty)
        #expect(beyond.stderr.contains("cannot resume after LSN 11: the directory's history ends at LSN 10"), "\(beyond.stderr)")
        let bounded = try cdc(["--data", dir, "--from", "0", "--address", "127.0.0.1:\(server.port)"])
        #expect(bounded.status == 0, "\(bounded.stderr)")
        #expect(bounded.lines == all.lines)
    }

    @Test("--follow prints a transfer made after it started, and stops cleanly on SIGTERM")
    func followPicksUpNewTransfers() throws {
        let dir = temporaryDataDir("cdc-follow")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))

        let kamino = try #require(builtExecutable("kamino"))
        let out = dir + ".cdc.out"
        let err = dir + ".cdc.err"
        let pid = try #require(spawnProcess(
            [kamino, "cdc", "--data", dir, "--from", "0", "--follow", "--address", "127.0.0.1:\(server.port)", "--poll-ms", "50"],
            stdout: out, stderr: err))
        var reaped = false
        defer {
            if !reaped {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        func lines() -> [String] { String(decoding: fileBytes(out), as: UTF8.self).split(separator: "\n").map(String.init) }
        func waitFor(_ count: Int) -> Bool {
            let deadline = monotonicSeconds() + 15
            while monotonicSeconds() < deadline {
                if lines().count >= count { return true }
                usleep(20_000)
            }
            return false
        }
        #expect(waitFor(2), "the accounts were not printed: \(String(decoding: fileBytes(err), as: UTF8.self))")
        let results = transferResults(client.call(.createTransfers([transfer(100, from: 1, to: 2, amount: 5)])))
        try #require(results.map(\.status) == [.created])
        #expect(waitFor(3), "the new transfer was not printed")
        usleep(300_000)  // a few more polls: nothing else comes
        #expect(lines().count == 3)
        #expect(lines().last == created(2, transfer(100, from: 1, to: 2, amount: 5), results[0].timestamp))

        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline, waitpid(pid, &status, WNOHANG) != pid { usleep(20_000) }
        reaped = status & 0x7F == 0 && kill(pid, 0) != 0
        #expect(reaped, "cdc --follow did not stop on SIGTERM")
        #expect((status >> 8) & 0xFF == 0)
        #expect(fileBytes(out).last == UInt8(ascii: "\n"), "the output ends with a whole line")
        _ = unlink(out)
        _ = unlink(err)
    }

    @Test("Records on disk beyond the server's commit_lsn are never printed with --address or --follow")
    func nothingBeyondCommitLSN() throws {
        let dir = temporaryDataDir("cdc-commit")
        defer { removeDataDir(dir) }
        // Sync replication with no follower: a batch becomes durable on this node, but is not
        // committed (answered replication_timeout), so commit_lsn stays 0.
        let server = try #require(ServerProcess.start(
            dataDir: dir,
            extra: ["--replication", "sync", "--replication-listen", "127.0.0.1:0", "--sync-quorum", "1", "--sync-timeout-ms", "500"]),
            "kamino serve did not start")
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        let answer = client.call(.createAccounts(accounts(1)))
        guard case .errorReply(let e)? = answer else {
            Issue.record("expected replication_timeout, got \(String(describing: answer))")
            return
        }
        #expect(e.rawCode == 17)

        // The record is on disk: the directory alone shows it.
        let offline = try cdc(["--data", dir])
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(offline.lines.count == 2 && offline.lines.allSatisfy { lsn($0) == 1 }, "\(offline.lines)")
        // Bounded by the server's commit_lsn (0): nothing.
        let bounded = try cdc(["--data", dir, "--address", "127.0.0.1:\(server.port)"])
        #expect(bounded.status == 0, "\(bounded.stderr)")
        #expect(bounded.lines.isEmpty, "\(bounded.lines)")

        let kamino = try #require(builtExecutable("kamino"))
        let out = dir + ".cdc.out"
        let pid = try #require(spawnProcess(
            [kamino, "cdc", "--data", dir, "--follow", "--address", "127.0.0.1:\(server.port)", "--poll-ms", "20"],
            stdout: out, stderr: dir + ".cdc.err"))
        usleep(1_500_000)  // many polls
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status & 0x7F == 0 && (status >> 8) & 0xFF == 0, "wait status \(status)")
        #expect(fileBytes(out).isEmpty, "printed beyond commit_lsn: \(String(decoding: fileBytes(out), as: UTF8.self))")
        _ = unlink(out)
        _ = unlink(dir + ".cdc.err")
    }
}
