import KaminoTestSupport
import Glibc
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage
import LedgerWorkload

/// Acknowledgements printed by `kamino-ledgerstress stress`: `ack <lsn> <timestamp> <events>`.
struct AckLog {
    let path: String
    private var parsed = 0
    private(set) var acked: [UInt64: (timestamp: UInt64, events: Int)] = [:]

    init(path: String) { self.path = path }

    /// Reads the complete lines added since the last call (a line cut by the kill is left).
    mutating func update() {
        let bytes = fileBytes(path)
        let complete = bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        guard complete > parsed else { return }
        for line in bytes[parsed..<complete].split(separator: UInt8(ascii: "\n")) {
            let f = String(decoding: line, as: UTF8.self).split(separator: " ")
            guard f.count == 4, f[0] == "ack", let lsn = UInt64(f[1]), let ts = UInt64(f[2]), let n = Int(f[3]) else { continue }
            acked[lsn] = (ts, n)
        }
        parsed = complete
    }
}

@Suite("Ledger-level kill -9 crash test")
struct LedgerCrashTests {
    /// kill -9 at random moments while 6 appenders log, apply and acknowledge workload
    /// batches and snapshots are taken in the background; the data directory is reused,
    /// each run restarting from snapshot + log. After each kill, read-only recovery must
    /// cover every acknowledged LSN, keep the money invariants, and equal (digest) the
    /// state re-derived from the workload generator alone. Then `kamino wal verify`
    /// accepts the directory, and rejects it once a record in the middle is corrupted.
    @Test func sigkillKeepsEveryAcknowledgedBatchAndTheInvariants() throws {
        guard let stress = builtExecutable("kamino-ledgerstress"), let kamino = builtExecutable("kamino") else {
            Issue.record("kamino-ledgerstress or kamino not found next to the test bundle; build them first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let data = dir.path + "/data"
        let stderrPath = dir.path + "/stress.log"
        let segmentSize = 256 << 10
        var acks = AckLog(path: dir.path + "/acks.txt")
        let workload = Workload(batchMax: 60)  // as `--batch-max 60` below
        let reference = Ledger()
        var referenceLSN: UInt64 = 0
        let kills = 24
        var lastRecovered: UInt64 = 0
        var snapshotsUsed = 0
        var lostTotal = 0

        for run in 0..<kills {
            guard let pid = spawnProcess(
                [stress, "stress", data, "--appenders", "6", "--think-us", "8000", "--batch-max", "60",
                 "--snapshot-every", "150", "--segment-size", String(segmentSize), "--seconds", "30"],
                stdout: acks.path, stderr: stderrPath)
            else {
                Issue.record("spawn failed")
                return
            }
            // A random moment: during recovery at start-up, or while appending and snapshotting.
            usleep(UInt32.random(in: 100_000...900_000))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            #expect(status & 0x7F == SIGKILL, "run \(run): the process ended before the kill (status \(status)); see \(stderrPath)")

            acks.update()
            let outcome = try LedgerRecovery.recover(directory: data, repair: false)
            #expect(outcome.report.damage == nil)
            if outcome.snapshot != nil { snapshotsUsed += 1 }
            let lost = acks.acked.keys.filter { $0 > outcome.lsn }
            lostTotal += lost.count
            #expect(lost.isEmpty, "run \(run): \(lost.count) acknowledged batches lost (up to LSN \(lost.max() ?? 0)), recovered \(outcome.lsn)")
            #expect(outcome.lsn >= lastRecovered, "run \(run): recovered LSN went back from \(lastRecovered) to \(outcome.lsn)")
            lastRecovered = outcome.lsn

            let problems = workload.invariantViolations(of: outcome.ledger)
            #expect(problems.isEmpty, "run \(run): \(problems.prefix(5))")

            // Independent re-derivation: the generator's batches applied to a fresh ledger.
            while referenceLSN < outcome.lsn {
                referenceLSN += 1
                try workload.batch(lsn: referenceLSN).apply(to: reference)
            }
            #expect(reference.digest() == outcome.ledger.digest(), "run \(run): recovered state differs at LSN \(outcome.lsn)")
        }

        // Every acknowledgement names the batch the generator makes for that LSN.
        for (lsn, ack) in acks.acked {
            let batch = workload.batch(lsn: lsn)
            #expect(ack.timestamp == batch.timestamp && ack.events == batch.eventCount, "ack of LSN \(lsn) does not match")
        }
        #expect(acks.acked.count > 500, "too few acknowledged batches to mean anything (\(acks.acked.count))")
        #expect(snapshotsUsed > 0, "no recovery started from a snapshot")
        // The mix really exercised every kind of event, and some failed.
        let mix = TransferMix(workload: workload)
        let ids = (Workload.firstMixLSN...max(Workload.firstMixLSN, referenceLSN)).flatMap { lsn in
            (0..<mix.size(lsn: lsn)).map { TransferMix.transferId(lsn: lsn, index: $0) }
        }
        let created = reference.lookupTransfers(ids)
        let count = { (flag: TransferFlags) in created.filter { $0.flags.contains(flag) }.count }
        let kinds = (pending: count(.pending), posted: count(.postPendingTransfer), voided: count(.voidPendingTransfer),
                     linked: count(.linked))
        #expect(kinds.pending > 0 && kinds.posted > 0 && kinds.voided > 0 && kinds.linked > 0, "\(kinds)")
        #expect(created.count < ids.count, "no event failed")
        progressLine("ledger crash test: \(kills) kills, \(acks.acked.count) acknowledged batches, \(lostTotal) lost; "
            + "last LSN \(lastRecovered), \(reference.transferCount) transfers (\(ids.count - created.count) of \(ids.count) "
            + "events failed; \(kinds)), \(snapshotsUsed) recoveries from a snapshot")

        // kamino wal verify on the crashed directory: nothing refused (0, or 1 when the last
        // kill left a torn tail or a snapshot temporary that a start removes); 2 after damage.
        let crashed = runProcess([kamino, "wal", "verify", data], log: dir.path + "/verify.txt")
        let crashedText = String(decoding: fileBytes(dir.path + "/verify.txt"), as: UTF8.self)
        #expect(crashed == 0 || crashed == 1, "\(crashedText)")
        #expect(!crashedText.contains("REFUSE"), "\(crashedText)")
        let report = try WALRecovery.recover(directory: data, mode: .readOnly)
        let candidates = report.segments.filter { $0.records >= 3 }
        let victim = try #require(candidates.count > 1 ? candidates.first : candidates.last, "no segment with records")
        #expect(flipByte(data + "/" + victim.name.fileName, at: victim.endOffset / 2))
        let verdict = runProcess([kamino, "wal", "verify", data], log: dir.path + "/verify-damaged.txt")
        #expect(verdict == 2, "kamino wal verify accepted a corrupted record: \(String(decoding: fileBytes(dir.path + "/verify-damaged.txt"), as: UTF8.self))")
        #expect(throws: LedgerRecovery.Failure.self) { try LedgerRecovery.recover(directory: data, repair: false) }
    }
}
