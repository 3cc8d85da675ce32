import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerEngine
import LedgerStorage
import Testing

/// A data directory written by the real engine with exactly five records per segment:
/// LSN 1 creates ten accounts, LSN 2...50 create ten transfers each, so segment k holds
/// LSN 5k+1...5k+5. With `snapshots`, one is taken every 20 LSNs (at 20 and 40) and the
/// segments the older one covers (LSN 1...20) are removed.
private func writeDirectory(_ path: String, snapshots: Bool) async throws {
    let accounts = (1...10).map { Account(id: UInt128($0), ledger: 1, code: 1) }
    let bodyLength = RecordCodec.encodeAccounts(accounts).count
    let recordLength = RecordHeader.size + RecordHeader.paddedLength(bodyLength)
    let segmentSize = max(4096, recordLength * 5)
    try #require(segmentSize / recordLength == 5, "the layout needs five records per segment")
    let ledger = try await DurableLedger.open(directory: path, segmentSize: segmentSize,
                                              snapshotEvery: snapshots ? 20 : 0)
    _ = try await ledger.createAccounts(accounts)
    for batch in 0..<49 {
        let transfers = (0..<10).map { i in
            Transfer(id: UInt128(1000 + batch * 10 + i), debitAccountId: UInt128(1 + i), creditAccountId: UInt128(1 + (i + 1) % 10),
                     amount: 1, ledger: 1, code: 1)
        }
        try #require(RecordCodec.encodeTransfers(transfers).count == bodyLength)
        let results = try await ledger.createTransfers(transfers)
        try #require(results.allSatisfy { $0.status == .created })
        // Batch `batch` is LSN batch + 2 (the accounts are LSN 1). A snapshot due while the
        // last one is still being written is skipped, so each one is waited for: the cases
        // need the snapshots at LSN 20 and 40 (a loaded run once had only the one at 20).
        if snapshots && (batch + 2) % 20 == 0 { await ledger.snapshotsSettled() }
    }
    await ledger.close()
}

private func segmentPath(_ dir: String, firstLSN: UInt64) -> String {
    dir + "/" + SegmentName(firstLSN: firstLSN).fileName
}

private func snapshotPath(_ dir: String, lsn: UInt64) -> String {
    dir + "/" + SnapshotInfo.fileName(lsn: lsn)
}

/// Every file of a flat directory with a hash of its bytes (FNV-1a), except the lock
/// file, which records the pid of whoever last opened the directory.
private func contents(_ dir: String) -> [String: UInt64] {
    guard let d = opendir(dir) else { return [:] }
    defer { closedir(d) }
    var out: [String: UInt64] = [:]
    while let entry = readdir(d) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name == "." || name == ".." || name == DataDirectoryLock.fileName { continue }
        out[name] = fileBytes(dir + "/" + name).reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
    return out
}

private func zeroFile(_ path: String) {
    let size = fileBytes(path).count
    let fd = open(path, O_WRONLY | O_TRUNC)
    guard fd >= 0 else { return }
    let zeros = [UInt8](repeating: 0, count: size)
    _ = zeros.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    fsync(fd)
    close(fd)
}

/// One damaged directory: how to make it, and what the refusal must name.
struct DamageCase: CustomStringConvertible, Sendable {
    let name: String
    let snapshots: Bool
    let damage: @Sendable (String) -> Void
    /// Substrings the refusal must contain (what is missing).
    let names: [String]
    var description: String { name }
}

@Suite("Damaged data directories: serve refuses, wal verify fails, from one table", .serialized)
struct DamagedDirectoryTests {
    static let cases: [DamageCase] = [
        DamageCase(name: "missing first segment", snapshots: false,
                   damage: { unlink(segmentPath($0, firstLSN: 1)) },
                   names: ["log segment(s) missing", "starts at LSN 6", "needs LSN 1"]),
        DamageCase(name: "missing middle segment", snapshots: false,
                   damage: { unlink(segmentPath($0, firstLSN: 21)) },
                   names: ["log segment(s) missing", "starts at LSN 26, expected 21"]),
        DamageCase(name: "missing last segment", snapshots: false,
                   damage: { unlink(segmentPath($0, firstLSN: 46)) },
                   names: ["up to LSN 45", "LSN 46...50 missing"]),
        DamageCase(name: "missing last segment after a crash", snapshots: false,
                   damage: { dir in
                       // A kill -9 leaves the promises of the last segment roll (no clean shutdown).
                       try? ControlFile(durableLSN: 45, lastSegmentLSN: 46).write(directory: dir)
                       unlink(segmentPath(dir, firstLSN: 46))
                   },
                   names: ["log segment missing", SegmentName(firstLSN: 46).fileName, "at LSN 45"]),
        DamageCase(name: "all snapshots corrupt, their segments gone", snapshots: true,
                   damage: { dir in
                       _ = flipByte(snapshotPath(dir, lsn: 20), at: 100)
                       _ = flipByte(snapshotPath(dir, lsn: 40), at: 100)
                   },
                   names: ["starts at LSN 21", "no usable snapshot", SnapshotInfo.fileName(lsn: 40)]),
        DamageCase(name: "only a garbage snapshot", snapshots: false,
                   damage: { dir in
                       for lsn in stride(from: 1, through: 46, by: 5) { unlink(segmentPath(dir, firstLSN: UInt64(lsn))) }
                       unlink(dir + "/" + ControlFile.fileName)
                       let fd = open(snapshotPath(dir, lsn: 500), O_WRONLY | O_CREAT, 0o644)
                       let garbage = [UInt8](repeating: 0xA5, count: 4096)
                       _ = garbage.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                       close(fd)
                   },
                   names: ["snapshot files but none is usable", SnapshotInfo.fileName(lsn: 500)]),
        DamageCase(name: "only a segment whose first record does not read, no control file", snapshots: false,
                   damage: { dir in
                       for lsn in stride(from: 6, through: 46, by: 5) { unlink(segmentPath(dir, firstLSN: UInt64(lsn))) }
                       unlink(dir + "/" + ControlFile.fileName)
                       let fd = open(segmentPath(dir, firstLSN: 1), O_WRONLY)
                       let garbage = [UInt8](repeating: 0xA5, count: 4096)
                       _ = garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                       fsync(fd)
                       close(fd)
                   },
                   names: ["not one readable record", SegmentName(firstLSN: 1).fileName, "an empty ledger"]),
        DamageCase(name: "log shorter than the snapshot", snapshots: true,
                   damage: { dir in
                       for lsn in [36, 41, 46] { unlink(segmentPath(dir, firstLSN: UInt64(lsn))) }
                   },
                   names: ["log shorter than the snapshot", "ends at LSN 35", "covers LSN 40"]),
        DamageCase(name: "zeroed middle segment", snapshots: false,
                   damage: { zeroFile(segmentPath($0, firstLSN: 21)) },
                   names: ["log segment(s) missing", "starts at LSN 26, expected 21"]),
        DamageCase(name: "zeroed last segment", snapshots: false,
                   damage: { zeroFile(segmentPath($0, firstLSN: 46)) },
                   names: ["up to LSN 45", "LSN 46...50 missing"]),
    ]

    @Test(arguments: cases)
    func refusedByServeAndVerify(_ damage: DamageCase) async throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let data = dir.path + "/data"
        try await writeDirectory(data, snapshots: damage.snapshots)
        // Intact, it verifies clean.
        #expect(runProcess([kamino, "wal", "verify", data], log: dir.path + "/verify-intact.out") == 0,
                "\(String(decoding: fileBytes(dir.path + "/verify-intact.out"), as: UTF8.self))")
        damage.damage(data)
        let before = contents(data)

        let verifyLog = dir.path + "/verify.out"
        let verifyStatus = runProcess([kamino, "wal", "verify", data], log: verifyLog)
        let verifyText = String(decoding: fileBytes(verifyLog), as: UTF8.self)
        #expect(verifyStatus == 2, "wal verify must refuse: \(verifyText)")

        let serveLog = dir.path + "/serve.out"
        let serveStatus = runProcess(
            [kamino, "serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics", "off"], log: serveLog)
        let serveText = String(decoding: fileBytes(serveLog), as: UTF8.self)
        #expect(serveStatus != nil && serveStatus != 0, "serve must refuse: \(serveText)")
        #expect(!serveText.contains("listening on"))
        for name in damage.names {
            #expect(serveText.contains(name), "serve's refusal names \(name): \(serveText)")
            #expect(verifyText.contains(name), "verify names \(name): \(verifyText)")
        }
        #expect(contents(data) == before, "a refused start changed the directory")

        // The same decision, in process: the engine refuses the same way.
        do {
            let ledger = try await DurableLedger.open(directory: data)
            await ledger.close()
            Issue.record("DurableLedger.open accepted a damaged directory")
        } catch {
            #expect(error.code == .recoveryFailed)
        }
    }

    /// A data directory (`DIR/data`, no snapshots) whose last segment (LSN 46...50) is gone:
    /// refused unless the operator overrides.
    private func directoryMissingItsLastSegment(in dir: TemporaryDirectory) async throws -> String {
        let data = dir.path + "/data"
        try await writeDirectory(data, snapshots: false)
        unlink(segmentPath(data, firstLSN: 46))
        return data
    }

    @Test func operatorOverrideStartsFromWhatIsLeft() async throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let data = try await directoryMissingItsLastSegment(in: dir)
        let ledger = try await DurableLedger.open(directory: data, allowDamaged: true)
        #expect(ledger.startup.verdict.refusals.contains { $0.contains("LSN 46...50 missing") })
        #expect(ledger.startup.replayedThrough == 45)
        await ledger.close()
        // The control file now promises only what is left: the directory is clean again.
        #expect(runProcess([kamino, "wal", "verify", data], log: dir.path + "/verify.out") == 0)
    }

    @Test func operatorFlagOverridesTheRefusalOfServe() async throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let data = try await directoryMissingItsLastSegment(in: dir)
        let out = dir.path + "/serve.out"
        let pid = try #require(spawnProcess(
            [kamino, "serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics", "off", "--accept-data-loss"],
            stdout: out, stderr: out))
        var status: Int32 = 0
        var text = ""
        var exited = false
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            text = String(decoding: fileBytes(out), as: UTF8.self)
            if text.contains("listening on") { break }
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
            usleep(20_000)
        }
        if !exited {
            kill(pid, SIGTERM)
            waitpid(pid, &status, 0)
        }
        text = String(decoding: fileBytes(out), as: UTF8.self)
        #expect(!exited && text.contains("listening on"), "--accept-data-loss did not start: \(text)")
        #expect(text.contains("critical") && text.contains("starting from less than the data directory promised"), "\(text)")
        #expect(text.contains("LSN 46...50 missing"), "the overridden refusal is logged: \(text)")
        #expect(text.contains("replayed_through_lsn=45"), "\(text)")
        #expect((status >> 8) & 0xFF == 0 && status & 0x7F == 0, "exit status \(status)")
        // The control file now promises what is left: a plain start and `wal verify` accept it.
        #expect(runProcess([kamino, "wal", "verify", data], log: dir.path + "/verify.out") == 0,
                "\(String(decoding: fileBytes(dir.path + "/verify.out"), as: UTF8.self))")
    }
}
