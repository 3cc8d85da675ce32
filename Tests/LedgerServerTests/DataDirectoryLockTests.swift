import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// Every file of a (flat) data directory with its size and a hash of its bytes (a failed
/// comparison then prints names and sizes, not 64 MiB segments).
private func directoryContents(_ dir: String) -> [String: String] {
    guard let d = opendir(dir) else { return [:] }
    defer { closedir(d) }
    var out: [String: String] = [:]
    while let entry = readdir(d) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        // The live holder's next segment, written in the background at low priority
        // (`SegmentPreparer`): it grows while the test runs, whatever the refused process does.
        if name == "." || name == ".." || name == "log-prepared.tmp" { continue }
        let bytes = fileBytes(dir + "/" + name)
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        out[name] = "\(bytes.count) bytes, hash \(hasher.finalize())"
    }
    return out
}

/// The directory once the live holder's own start-up writes are done (it records its first
/// segment in the control file on a thread of its own, `SegmentRecords`, later under load):
/// two reads 200 ms apart that agree, within 30 s.
private func settledDirectoryContents(_ dir: String) -> [String: String] {
    var last = directoryContents(dir)
    let deadline = monotonicSeconds() + 30
    while monotonicSeconds() < deadline {
        usleep(200_000)
        let now = directoryContents(dir)
        if now == last { return now }
        last = now
    }
    return last
}

/// Runs `argv` to completion like `runProcess`, but kills it after `seconds` (a command
/// that should have been refused and runs instead fails the test rather than hanging it).
private func runBounded(_ argv: [String], log: String, seconds: Double = 30) -> Int32? {
    guard let pid = spawnProcess(argv, stdout: log, stderr: log) else { return nil }
    let deadline = monotonicSeconds() + seconds
    var status: Int32 = 0
    while monotonicSeconds() < deadline {
        if waitpid(pid, &status, WNOHANG) == pid {
            return status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
        }
        usleep(20_000)
    }
    kill(pid, SIGKILL)
    waitpid(pid, &status, 0)
    return nil
}

@Suite("The data directory has one writer", .serialized)
struct DataDirectoryLockTests {
    @Test func secondServerOnOneDirectoryIsRefusedAndChangesNothing() throws {
        let dir = temporaryDataDir("lock")
        defer { removeDataDir(dir) }
        var first = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        defer { first.terminate() }
        let client = try #require(WireTestClient(port: first.port))
        #expect(allCreated(client.call(.createAccounts(accounts(10)))))
        #expect(allCreated(client.call(.createTransfers([transfer(100, from: 10, to: 11, amount: 7)]))))

        let before = settledDirectoryContents(dir)
        #expect(before.keys.contains("kamino.lock"))
        let kamino = try #require(builtExecutable("kamino"))
        let log = dir + ".second.out"
        let status = runBounded(
            [kamino, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--metrics", "off"], log: log)
        let output = String(decoding: fileBytes(log), as: UTF8.self)
        #expect(status != nil && status != 0, "the second server must exit non-zero: \(output)")
        #expect(output.contains("pid \(first.pid)"), "the refusal names the holder: \(output)")
        #expect(!output.contains("listening on"))
        #expect(directoryContents(dir) == before, "the refused server changed the directory")

        // Readers beside the live writer: the read-only `wal` commands take no lock.
        for command in ["verify", "inspect", "replay"] {
            let readerLog = dir + ".\(command).out"
            #expect(runProcess([kamino, "wal", command, dir], log: readerLog) == 0,
                    "wal \(command): \(String(decoding: fileBytes(readerLog), as: UTF8.self))")
        }
        let replayed = String(decoding: fileBytes(dir + ".replay.out"), as: UTF8.self)
        #expect(replayed.contains("transfers: 1"), "wal replay beside the server: \(replayed)")
        #expect(directoryContents(dir) == before, "a read-only wal command changed the directory")

        // The first keeps serving, with everything it acknowledged.
        #expect(allCreated(client.call(.createTransfers([transfer(101, from: 11, to: 10, amount: 2)]))))
        guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers([100, 101])) else {
            Issue.record("no lookup_transfers reply")
            return
        }
        #expect(found.map(\.id) == [100, 101])
        first.expectCleanExit()

        // And after a restart nothing acknowledged is missing.
        first = try #require(ServerProcess.start(dataDir: dir), "restart failed")
        let again = try #require(WireTestClient(port: first.port))
        guard case .reply(_, .lookupAccounts(let balances), _) = again.call(.lookupAccounts([10, 11])) else {
            Issue.record("no lookup_accounts reply")
            return
        }
        #expect(balances.map(\.debitsPosted) == [7, 2])
        #expect(balances.map(\.creditsPosted) == [2, 7])
    }

    @Test func followIsRefusedOnADirectoryAServerHolds() throws {
        let dir = temporaryDataDir("lock-follow")
        defer { removeDataDir(dir) }
        let first = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        defer { first.terminate() }
        let client = try #require(WireTestClient(port: first.port))
        #expect(allCreated(client.call(.createAccounts(accounts(30)))))
        let before = settledDirectoryContents(dir)

        // A follower pointed at the same directory (its primary need not exist: the lock
        // comes before anything else is read, written or connected to).
        let kamino = try #require(builtExecutable("kamino"))
        let log = dir + ".follow.out"
        let status = runBounded(
            [kamino, "follow", "--primary", "127.0.0.1:1", "--data", dir, "--listen", "127.0.0.1:0",
             "--metrics", "off", "--replication-listen", "127.0.0.1:0"], log: log)
        let output = String(decoding: fileBytes(log), as: UTF8.self)
        #expect(status != nil && status != 0, "kamino follow must exit non-zero: \(output)")
        #expect(output.contains("in use by another kamino process"), "\(output)")
        #expect(output.contains("pid \(first.pid)"), "the refusal names the holder: \(output)")
        #expect(!output.contains("listening on"))
        #expect(directoryContents(dir) == before, "the refused follower changed the directory")
        guard case .reply(_, .lookupAccounts(let found), _) = client.call(.lookupAccounts([30, 31])) else {
            Issue.record("no lookup_accounts reply")
            return
        }
        #expect(found.map(\.id) == [30, 31])
    }

    @Test func killedHolderLeavesNoStaleClaim() throws {
        let dir = temporaryDataDir("lock-kill")
        defer { removeDataDir(dir) }
        let first = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        let client = try #require(WireTestClient(port: first.port))
        #expect(allCreated(client.call(.createAccounts(accounts(20)))))
        #expect(first.killHard())
        // The lock file still names the dead pid, but the kernel dropped the lock.
        let second = try #require(ServerProcess.start(dataDir: dir), "restart after kill -9 was refused")
        defer { second.terminate() }
        let again = try #require(WireTestClient(port: second.port))
        guard case .reply(_, .lookupAccounts(let found), _) = again.call(.lookupAccounts([20, 21])) else {
            Issue.record("no lookup_accounts reply")
            return
        }
        #expect(found.map(\.id) == [20, 21])
    }
}
