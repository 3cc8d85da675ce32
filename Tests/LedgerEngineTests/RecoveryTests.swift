import Glibc
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage

/// A fresh temporary data directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String
    init() {
        var template = Array("/tmp/kamino-engine-XXXXXX".utf8CString)
        let made: UnsafeMutablePointer<CChar>? = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        path = made.map { String(cString: $0) } ?? "/tmp/kamino-engine-fallback-\(getpid())"
    }
    func remove() { _ = system("rm -rf '\(path)'") }
}

/// Drives a ledger and its log together the way the server will: append the batch's
/// bytes, apply it, and count it as acknowledged once durable.
struct LoggedLedger {
    let ledger = Ledger()
    let writer: WALWriter
    var clock: UInt64 = 1_000_000_000_000

    init(directory: String) throws {
        (writer, _) = try WALWriter.open(WALConfiguration(directory: directory, segmentSize: 1 << 20))
    }

    mutating func accounts(_ batch: [Account]) async throws {
        clock = ledger.nextBatchTimestamp(wallClock: clock + 1_000_000, count: batch.count)
        let lsn = try writer.append(operation: Operation.createAccounts.rawValue, timestamp: clock,
                                    eventCount: UInt32(batch.count), body: RecordCodec.encodeAccounts(batch))
        _ = try ledger.createAccounts(batch, timestamp: clock)
        try await writer.waitDurable(lsn)
    }

    mutating func transfers(_ batch: [Transfer]) async throws {
        clock = ledger.nextBatchTimestamp(wallClock: clock + 700_000_000, count: batch.count)
        let lsn = try writer.append(operation: Operation.createTransfers.rawValue, timestamp: clock,
                                    eventCount: UInt32(batch.count), body: RecordCodec.encodeTransfers(batch))
        _ = try ledger.createTransfers(batch, timestamp: clock)
        try await writer.waitDurable(lsn)
    }
}

/// Varied transfers over accounts 1...n: pending with timeouts, posts, limits, chains.
func someTransfers(round: Int, accounts n: Int, count: Int) -> [Transfer] {
    (0..<count).map { i in
        let id = UInt128(round * 100_000 + i + 1)
        let dr = UInt128((i * 7 + round) % n + 1)
        var cr = UInt128((i * 13 + round * 3) % n + 1)
        if cr == dr { cr = dr % UInt128(n) + 1 }
        if i % 5 == 4 {
            return Transfer(id: id, amount: .max, pendingId: id - 1, flags: .postPendingTransfer)
        }
        let flags: TransferFlags = i % 5 == 3 ? .pending : (i % 11 == 0 ? .linked : [])
        return Transfer(id: id, debitAccountId: dr, creditAccountId: cr, amount: UInt128(1 + i % 97),
                        timeout: flags == .pending && i % 2 == 1 ? 1 : 0, ledger: 1, code: 1, flags: flags)
    }
}

@Suite("Recovery of the ledger from snapshot and log")
struct RecoveryTests {
    @Test("Recovery rebuilds exactly the state that was logged, with or without a snapshot")
    func snapshotPlusTail() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var logged = try LoggedLedger(directory: dir.path)
        try await logged.accounts((1...50).map {
            Account(id: UInt128($0), ledger: 1, code: 1, flags: $0 % 3 == 0 ? [.history] : [])
        })
        for round in 0..<20 { try await logged.transfers(someTransfers(round: round, accounts: 50, count: 300)) }

        // Without a snapshot: the log alone.
        let fromLog = try LedgerRecovery.recover(directory: dir.path, repair: false)
        #expect(fromLog.ledger.digest() == logged.ledger.digest())
        #expect(fromLog.lsn == 21 && fromLog.replayedRecords == 21 && fromLog.snapshot == nil)

        // Snapshot at LSN 21, then more batches: snapshot + tail.
        let info = try SnapshotStore(directory: dir.path).write(logged.ledger.snapshot(), lsn: 21)
        #expect(info.lsn == 21)
        for round in 20..<30 { try await logged.transfers(someTransfers(round: round, accounts: 50, count: 300)) }
        await logged.writer.close()

        let recovered = try LedgerRecovery.recover(directory: dir.path, repair: true)
        #expect(recovered.snapshot?.lsn == 21)
        #expect(recovered.replayedRecords == 10)
        #expect(recovered.lsn == 31)
        #expect(recovered.ledger.digest() == logged.ledger.digest())
        #expect(recovered.ledger.transferCount == logged.ledger.transferCount)
    }

    @Test("A corrupt newest snapshot falls back to the log")
    func corruptSnapshotFallsBack() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var logged = try LoggedLedger(directory: dir.path)
        try await logged.accounts((1...20).map { Account(id: UInt128($0), ledger: 1, code: 1) })
        for round in 0..<5 { try await logged.transfers(someTransfers(round: round, accounts: 20, count: 100)) }
        let info = try SnapshotStore(directory: dir.path).write(logged.ledger.snapshot(), lsn: 6)
        await logged.writer.close()
        // Flip one byte in the snapshot's content.
        let fd = open(info.path, O_RDWR)
        var byte: UInt8 = 0
        _ = pread(fd, &byte, 1, 200)
        byte ^= 0x40
        _ = pwrite(fd, &byte, 1, 200)
        close(fd)

        let recovered = try LedgerRecovery.recover(directory: dir.path, repair: false)
        #expect(recovered.snapshot == nil)
        #expect(recovered.invalidSnapshots.count == 1)
        #expect(recovered.ledger.digest() == logged.ledger.digest())
    }
}
