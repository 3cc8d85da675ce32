import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// True when this process may mount a tmpfs (root in a permissive sandbox).
private func mayMountTmpfs() -> Bool {
    var template = Array("/tmp/kamino-mount-probe-XXXXXX".utf8CString)
    guard let path = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } })
        .map({ String(cString: $0) }) else { return false }
    defer { rmdir(path) }
    guard mount("tmpfs", path, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount2(path, Int32(MNT_DETACH))
    return true
}

/// The `log_unavailable` wire code (docs/protocol.md, "Error replies").
private let logUnavailable = WireError.Code.logUnavailable.rawValue

/// The transfers of one disk-full episode as the client saw them: each moves 1 from
/// account 1 to account 2, so account 1's debits are the number applied.
private struct Episode {
    var acknowledged: [UInt128] = []
    var refused: [UInt128] = []
    var nextId: UInt128 = 1_000

    mutating func batch(_ size: Int) -> [Transfer] {
        defer { nextId += UInt128(size) }
        return (0..<size).map { transfer(nextId + UInt128($0), from: 1, to: 2) }
    }
}

/// A full disk (a small tmpfs) or a file size limit (RLIMIT_FSIZE, EFBIG) under a live
/// `kamino serve`: writes answer `log_unavailable` and nothing they carried is applied,
/// reads keep answering from the durable state, the log failure is logged once and
/// shows in /metrics and /readyz, writes resume by themselves once space is back, and
/// after a restart (on a dir `kamino wal verify` accepts) exactly the acknowledged
/// transfers are there.
@Suite("Disk full: log_unavailable, reads from durable state, writes resume by themselves", .serialized)
struct DiskFullTests {
    static let layouts: [[String]] = [[], ["--shards", "2"]]

    @Test("RLIMIT_FSIZE: EFBIG inside a segment", arguments: layouts)
    func fileSizeLimit(layout: [String]) throws {
        let dir = temporaryDataDir("efbig")
        defer { removeDataDir(dir) }
        // Unlimited first: the accounts, and the log's first (preallocated) segment.
        do {
            let server = try #require(ServerProcess.start(dataDir: dir, extra: layout))
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts([1, 2].map { Account(id: $0, ledger: 1, code: 1) }))))
            server.expectCleanExit()
        }
        // Then with writes beyond 1 MiB of any file refused (SIGXFSZ ignored: EFBIG).
        let launcher = ["/bin/sh", "-c", "ulimit -S -f \((1 << 20) / 512) && trap '' XFSZ && exec \"$0\" \"$@\""]
        let server = try #require(ServerProcess.start(dataDir: dir, extra: layout, metrics: true, launcher: launcher))
        defer { server.terminate() }
        try exerciseEpisode(server, dir: dir, layout: layout, batchSize: 1000) {
            // prlimit(2) on the running server (util-linux's prlimit: Glibc's module lacks it).
            #expect(runProcess(["/usr/bin/prlimit", "--pid", "\(server.pid)", "--fsize=unlimited"], log: dir + ".prlimit") == 0)
        }
    }

    /// The serial layout only: filling a 64 MiB segment and rebuilding ~500k transfers
    /// takes long in a debug build; the RLIMIT_FSIZE variant runs both layouts.
    @Test("tmpfs: ENOSPC when the next segment cannot be created", .enabled(if: mayMountTmpfs(), "needs mount -t tmpfs (root)"))
    func smallTmpfs() throws {
        let layout: [String] = []
        var template = Array("/tmp/kamino-enospc-XXXXXX".utf8CString)
        let mountPoint = try #require(template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
            .map { String(cString: $0) })
        defer { rmdir(mountPoint) }
        // Room for one 64 MiB segment and the rest of the dir, not for a second segment.
        try #require(mount("tmpfs", mountPoint, "tmpfs", 0, "size=72m") == 0)
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let dir = mountPoint + "/data"
        let server = try #require(ServerProcess.start(dataDir: dir, extra: layout, metrics: true))
        defer { server.terminate() }
        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts([1, 2].map { Account(id: $0, ledger: 1, code: 1) }))))
        try exerciseEpisode(server, dir: dir, layout: layout, batchSize: 8189) {
            #expect(mount("tmpfs", mountPoint, "tmpfs", UInt(MS_REMOUNT), "size=256m") == 0)
        }
    }

    /// Writes until the log refuses, checks the refusal, then `makeRoom` and checks that
    /// writes resume, and that a restart keeps exactly what was acknowledged.
    private func exerciseEpisode(
        _ server: ServerProcess, dir: String, layout: [String], batchSize: Int, makeRoom: () -> Void
    ) throws {
        // Reads that saw a batch being rolled back wait for the rebuild (seconds, in a debug build).
        let client = try #require(WireTestClient(port: server.port, timeoutSeconds: 120))
        let metricsPort = try #require(server.metricsPort)
        var episode = Episode()
        // Three batches in flight at a time: the one the log fails on, and those behind it.
        var refusedOnce = false
        for _ in 0..<200 where !refusedOnce {
            var sent: [UInt64: [UInt128]] = [:]
            for _ in 0..<3 {
                let events = episode.batch(batchSize)
                sent[client.send(.createTransfers(events))] = events.map(\.id)
            }
            for _ in 0..<sent.count {
                let reply = try #require(client.receive())
                let ids = try #require(sent[reply.requestId])
                switch reply {
                case .reply:
                    #expect(allCreated(reply))
                    episode.acknowledged += ids
                case .errorReply(let error):
                    #expect(error.rawCode == logUnavailable, "\(error.message)")
                    #expect(!error.message.contains("/"), "a path in an error reply: \(error.message)")
                    episode.refused += ids
                    refusedOnce = true
                default:
                    Issue.record("unexpected message \(reply)")
                }
            }
        }
        try #require(refusedOnce, "the log never failed")
        #expect(!episode.acknowledged.isEmpty)

        // While the log cannot be written: writes are refused, reads answer from the durable state.
        let refused = client.call(.createTransfers(episode.batch(10)))
        guard case .errorReply(let error) = refused else {
            Issue.record("a write was not refused while the log is full: \(String(describing: refused))")
            return
        }
        #expect(error.rawCode == logUnavailable)
        episode.refused += (episode.nextId - 10..<episode.nextId).map { $0 }
        try expectState(client, episode)
        let metrics = loopbackHTTPGet(port: metricsPort, path: "/metrics")?.body ?? ""
        #expect(metrics.contains("kamino_log_writable 0"), "\(metrics)")
        #expect(metrics.contains("kamino_log_failures_total 1"))
        #expect(loopbackHTTPGet(port: metricsPort, path: "/readyz")?.status == 503)

        // Space is back: writes resume by themselves (the log probes with backoff).
        makeRoom()
        let deadline = monotonicSeconds() + 20
        var resumed = false
        while !resumed && monotonicSeconds() < deadline {
            let events = episode.batch(10)
            let reply = client.call(.createTransfers(events))
            if allCreated(reply) {
                episode.acknowledged += events.map(\.id)
                resumed = true
            } else {
                guard case .errorReply(let e) = reply, e.rawCode == logUnavailable else {
                    Issue.record("unexpected answer while resuming: \(String(describing: reply))")
                    return
                }
                episode.refused += events.map(\.id)
                usleep(100_000)
            }
        }
        try #require(resumed, "writes did not resume once space was back")
        for _ in 0..<3 {
            let events = episode.batch(100)
            #expect(allCreated(client.call(.createTransfers(events))))
            episode.acknowledged += events.map(\.id)
        }
        try expectState(client, episode)
        let after = loopbackHTTPGet(port: metricsPort, path: "/metrics")?.body ?? ""
        #expect(after.contains("kamino_log_writable 1"))
        #expect(loopbackHTTPGet(port: metricsPort, path: "/readyz")?.status == 200)
        let failureLines = server.output.split(separator: "\n").filter { $0.contains("log write failed: writes answer") }
        #expect(failureLines.count == 1, "logged once:\n\(server.output)")
        #expect(server.output.contains("writes resume"))
        server.expectCleanExit()

        // The dir is valid, and a restart has exactly the acknowledged transfers.
        let kamino = try #require(builtExecutable("kamino"))
        #expect(runProcess([kamino, "wal", "verify", dir], log: dir + ".verify") == 0,
                "\(String(decoding: fileBytes(dir + ".verify"), as: UTF8.self))")
        let again = try #require(ServerProcess.start(dataDir: dir, extra: layout), "the restart failed")
        defer { again.terminate() }
        try expectState(try #require(WireTestClient(port: again.port)), episode)
        again.expectCleanExit()
    }

    /// The ledger holds every acknowledged transfer and no refused one.
    private func expectState(_ client: WireTestClient, _ episode: Episode) throws {
        guard case .reply(_, .lookupAccounts(let accounts), _) = client.call(.lookupAccounts([1, 2])) else {
            Issue.record("no lookup_accounts reply")
            return
        }
        #expect(accounts.first?.debitsPosted == UInt128(episode.acknowledged.count))
        #expect(accounts.last?.creditsPosted == UInt128(episode.acknowledged.count))
        // Every refused transfer, and a sample of the acknowledged ones (the balances count them all).
        let sample = episode.acknowledged.count <= 20_000 ? episode.acknowledged
            : stride(from: 0, to: episode.acknowledged.count, by: 61).map { episode.acknowledged[$0] }
                + episode.acknowledged.suffix(2_000)
        for (ids, present) in [(sample, true), (episode.refused, false)] {
            var at = 0
            while at < ids.count {
                let chunk = Array(ids[at..<min(at + 8189, ids.count)])
                at += chunk.count
                guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(chunk)) else {
                    Issue.record("no lookup_transfers reply")
                    return
                }
                #expect(found.count == (present ? chunk.count : 0), present ? "an acknowledged transfer is missing"
                        : "a refused transfer was applied")
            }
        }
    }
}
