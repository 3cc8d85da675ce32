import Foundation
import Glibc
import KaminoTestSupport
import Testing

extension ClusterTests {
    /// A follower that needs the primary's snapshot (its log was removed) and stops reading
    /// during the download (SIGSTOP) must not make the primary read the snapshot into
    /// memory: the primary writes a chunk only once the one before it reached the socket.
    /// Resumed, the follower gets the whole snapshot on the same connection (no "stream
    /// ended inside a frame" and new fetch: the last chunks were dropped at the close) and
    /// ends with the primary's digest.
    @Test(.timeLimit(.minutes(4)))
    func aSnapshotIsSentNoFasterThanTheFollowerReads() async throws {
        let dir = try ClusterDirectory("snapshot-pacing")
        var nodes: [ClusterNode] = []
        defer {
            for n in nodes { n.resume() }
            tearDown(nodes, dir)
        }
        let primary = try ClusterNode(
            name: "primary", role: .primary, in: dir, replication: asyncReplication,
            extra: ["--snapshot-log-bytes", "\(32 << 20)", "--retain-records", "1000"])
        nodes.append(primary)
        let kamino = try #require(builtExecutable("kamino"))
        // 1.5 M transfers: three log segments, the first one removed once two snapshots cover it
        // (a fresh follower then needs the snapshot, of about 140 MB).
        let bench = [kamino, "bench", "--address", primary.clientAddress, "--transfers", "1500000", "--accounts", "1000"]
        _ = runProcess(bench, log: dir.path + "/bench.log")
        let snapshot = try #require(await waitForSnapshotAlone(in: primary.dataDir, timeout: 60),
                                    "the primary kept its first segment or took no snapshot:\n\(tail(primary.log))")
        let primaryPid = try #require(primary.pid)
        let before = try #require(residentBytes(primaryPid))

        let follower = try ClusterNode(
            name: "follower-1", role: .follower(of: try #require(primary.replicationAddress)), in: dir,
            replication: asyncReplication)
        nodes.append(follower)
        try #require(waitForPart(in: follower.dataDir, timeout: 30), "no snapshot download began:\n\(tail(follower.log))")
        follower.pause()
        try await Task.sleep(for: .seconds(3))
        let grown = (residentBytes(primaryPid) ?? 0) - before
        #expect(grown < snapshot.size / 2,
                "the primary grew by \(grown) bytes while a stopped follower downloaded its \(snapshot.size)-byte snapshot")
        follower.resume()

        #expect(follower.waitForLog("snapshot installed", timeout: 90), "no snapshot installed:\n\(tail(follower.log))")
        let brokeOff = follower.log.contains("snapshot fetch failed")
        #expect(!brokeOff, "a fetch broke off:\n\(tail(follower.log))")
        // A sync point: once the follower answers this transfer it holds the whole log.
        let probe = try #require(WireTestClient(port: primary.clientPort))
        _ = probe.call(.createAccounts([.init(id: 1 << 60, ledger: 1, code: 1), .init(id: 1 << 61, ledger: 1, code: 1)]))
        _ = probe.call(.createTransfers([.init(id: 1 << 60, debitAccountId: 1 << 60, creditAccountId: 1 << 61, amount: 1,
                                                ledger: 1, code: 1)]))
        let synced = try await waitForTransfers([1 << 60], on: follower.clientAddress, timeout: 60)
        #expect(synced != nil, "the follower did not catch up after the snapshot:\n\(tail(follower.log))")
        expectSameDigests(try stopAndDigest(nodes))
    }
}

/// Waits until `dir` holds a snapshot and no longer the log's first segment (the snapshot
/// covers it); returns the snapshot's size.
private func waitForSnapshotAlone(in dir: String, timeout: Double) async -> (name: String, size: Int)? {
    let deadline = monotonicClockSeconds() + timeout
    while monotonicClockSeconds() < deadline {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        if !names.contains("log-00000000000000000001.wal"),
            let newest = names.filter({ $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap") }).sorted().last,
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + newest))?[.size] as? Int
        {
            return (newest, size)
        }
        try? await Task.sleep(for: .milliseconds(200))
    }
    return nil
}

/// Waits until `dir` holds a snapshot download's part file with at least 4 MiB in it.
private func waitForPart(in dir: String, timeout: Double) -> Bool {
    let deadline = monotonicClockSeconds() + timeout
    while monotonicClockSeconds() < deadline {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        if let part = names.first(where: { $0.hasSuffix(".snap.part") }),
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + part))?[.size] as? Int, size >= 4 << 20
        {
            return true
        }
        usleep(20_000)
    }
    return false
}

/// A process's resident set size in bytes (`VmRSS` of /proc/PID/status).
private func residentBytes(_ pid: pid_t) -> Int? {
    let text = String(decoding: fileBytes("/proc/\(pid)/status"), as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return nil }
    return kb * 1024
}
