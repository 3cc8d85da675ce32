import Foundation
import Synchronization
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage

/// Reads a snapshot file's content (after its 64-byte header) from memory.
private struct FileContent: SnapshotReader {
    let bytes: [UInt8]
    var offset = 64
    struct Ended: Error {}
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard bytes.count - offset >= buffer.count else { throw Ended() }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        offset += buffer.count
    }
}

/// Snapshots triggered by log bytes, taken while writes go on, in both layouts; and the log
/// segments they make obsolete removed without what followers still need.
@Suite("Snapshots: byte trigger, capture under load, sharded layout, retention")
struct SnapshotTriggerTests {
    /// 60 accounts, every fifth with balance history.
    func accounts() -> [Account] {
        (1...60).map { Account(id: UInt128($0), ledger: 1, code: 1, flags: $0 % 5 == 0 ? .history : []) }
    }

    /// `writers` tasks each logging `rounds` batches of `size` transfers (1 in 7 pending, no
    /// timeout; every 9th posts the previous pending one of the same writer); ids start
    /// above `idBase` (each call its own).
    func write(_ ledger: DurableLedger, writers: Int, rounds: Int, size: Int, idBase: Int = 0) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var lastPending: UInt128?
                    for round in 0..<rounds {
                        var batch: [Transfer] = []
                        for k in 0..<size {
                            let id = UInt128(idBase + writer * 1_000_000 + round * 1_000 + k + 1)
                            if k == 8, let pending = lastPending {
                                batch.append(Transfer(id: id, amount: .max, pendingId: pending, flags: .postPendingTransfer))
                                lastPending = nil
                                continue
                            }
                            let dr = UInt128((writer * 7 + round + k) % 60 + 1)
                            let cr = UInt128((writer + round * 3 + k * 5 + 1) % 60 + 1)
                            var t = Transfer(id: id, debitAccountId: dr, creditAccountId: cr == dr ? dr % 60 + 1 : cr,
                                             amount: UInt128(1 + k), ledger: 1, code: 1)
                            if k % 7 == 3 {
                                t.flags = .pending
                                lastPending = id
                            }
                            batch.append(t)
                        }
                        let results = try await ledger.createTransfers(batch)
                        #expect(results.allSatisfy { $0.status == .created }, "\(results.filter { $0.status != .created })")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The digest of the state after exactly `lsn`, replayed from LSN 1 out of the log.
    func digestFromLog(_ directory: String, through lsn: UInt64) throws -> StateDigest {
        let ledger = Ledger()
        var records = try WALReader(directory: directory).records(from: 1, through: lsn)
        while let record = try records.next() {
            let operation = try #require(Operation(rawValue: record.operation))
            _ = try record.body.withUnsafeBytes { try ledger.applyLogged(operation: operation, timestamp: record.timestamp, body: $0) }
        }
        return ledger.digest()
    }

    /// Each snapshot file left in `directory` loads to the state the log gives at its LSN.
    /// Returns how many there were.
    func checkSnapshotsMatchTheLog(_ directory: String) throws -> Int {
        let files = try SnapshotStore(directory: directory).list()
        for (lsn, path) in files {
            let bytes = try #require(FileManager.default.contents(atPath: path)).map { $0 }
            var content = FileContent(bytes: bytes)
            let loaded = try Ledger(snapshot: &content)
            #expect(loaded.digest() == (try digestFromLog(directory, through: lsn)), "snapshot at LSN \(lsn)")
        }
        return files.count
    }

    /// Counts written snapshots and failures, for `onSnapshot`.
    final class Outcomes: Sendable {
        let written = Mutex<[UInt64]>([])
        let failed = Atomic<Int>(0)
        func note(_ outcome: SnapshotScheduler.Outcome) {
            switch outcome {
            case .written(let lsn, _, _, _): written.withLock { $0.append(lsn) }
            case .failed: failed.add(1, ordering: .relaxed)
            }
        }
    }

    @Test("The byte trigger fires at the first LSN where that many bytes were logged")
    func byteTriggerFires() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let outcomes = Outcomes()
        let threshold: UInt64 = 6_000
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 8 << 20, snapshotLogBytes: threshold,
                                                  onSnapshot: outcomes.note)
        #expect(ledger.takesSnapshots)
        _ = try await ledger.createAccounts(accounts())
        // One batch at a time: each snapshot is written before the next is due.
        for call in 0..<3 { try await write(ledger, writers: 1, rounds: 4, size: 10, idBase: call * 100_000_000) }
        await ledger.close()
        #expect(outcomes.failed.load(ordering: .relaxed) == 0)
        var total: UInt64 = 0
        var expected: UInt64?
        var records = try WALReader(directory: dir.path).records(from: 1)
        while let record = try records.next() {
            total += UInt64(record.body.count)
            if total >= threshold, expected == nil { expected = record.lsn }
        }
        let first = try #require(outcomes.written.withLock { $0.first }, "no snapshot was written")
        #expect(first == expected)
        #expect(try checkSnapshotsMatchTheLog(dir.path) > 0)
    }

    @Test("The byte trigger waits for as many log bytes as the last snapshot held")
    func byteTriggerScalesWithTheState() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let sizes = Mutex<[UInt64: UInt64]>([:])
        let threshold: UInt64 = 2_000
        let ledger = try await DurableLedger.open(
            directory: dir.path, segmentSize: 8 << 20, snapshotLogBytes: threshold,
            onSnapshot: { outcome in
                if case .written(let lsn, _, _, let bytes) = outcome { sizes.withLock { $0[lsn] = bytes } }
            })
        _ = try await ledger.createAccounts(accounts())
        for round in 0..<40 {
            try await write(ledger, writers: 1, rounds: 1, size: 10, idBase: round * 100_000_000)
            // Each snapshot due is written before the next batch (none skipped as busy).
            await ledger.snapshotsSettled()
        }
        await ledger.close()
        let written = sizes.withLock { $0 }.sorted { $0.key < $1.key }
        #expect(written.count >= 2)
        // The state (60 accounts, 7.7 KiB and more) is far above the 2,000-byte threshold:
        // after the first snapshot, each one waits for the last one's size in log bytes.
        var logged: [UInt64: UInt64] = [:]
        var total: UInt64 = 0
        var records = try WALReader(directory: dir.path).records(from: 1)
        while let record = try records.next() {
            total += UInt64(record.body.count)
            logged[record.lsn] = total
        }
        for (previous, next) in zip(written, written.dropFirst()) {
            let between = try #require(logged[next.key]) - (try #require(logged[previous.key]))
            #expect(previous.value > threshold)
            #expect(between >= previous.value, "snapshot at LSN \(next.key) after \(between) log bytes")
            // ...and fires at the first LSN where enough was logged.
            let before = try #require(logged[next.key - 1]) - (try #require(logged[previous.key]))
            #expect(before < previous.value)
        }
        #expect(try checkSnapshotsMatchTheLog(dir.path) >= 2)
    }

    @Test("Snapshots captured while 16 writers go on each equal the state at their LSN")
    func captureUnderLoad() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let outcomes = Outcomes()
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 16 << 20, snapshotLogBytes: 24 << 10,
                                                  onSnapshot: outcomes.note)
        _ = try await ledger.createAccounts(accounts())
        try await write(ledger, writers: 16, rounds: 15, size: 10)
        let before = await ledger.status()
        await ledger.close()
        // One at a time: on a busy machine, triggers that come while one is written wait.
        #expect(outcomes.written.withLock { $0.count } >= 1)
        #expect(outcomes.failed.load(ordering: .relaxed) == 0)
        #expect(try checkSnapshotsMatchTheLog(dir.path) >= 1)
        let reopened = try await DurableLedger.open(directory: dir.path, segmentSize: 16 << 20)
        #expect(reopened.startup.snapshotLSN > 0)
        #expect(await reopened.status().digest == before.digest)
        await reopened.close()
    }

    @Test("A sharded ledger takes snapshots under load and restarts from one to the same digest")
    func shardedSnapshotAndRestart() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let outcomes = Outcomes()
        let ledger = try await DurableLedger.openSharded(
            directory: dir.path, shards: 3, segmentSize: 16 << 20, snapshotLogBytes: 24 << 10, onSnapshot: outcomes.note)
        #expect(ledger.takesSnapshots)
        _ = try await ledger.createAccounts(accounts())
        // Batches of 70 run in parallel rounds (the threshold is 64); 10 run serially.
        try await write(ledger, writers: 4, rounds: 6, size: 70)
        try await write(ledger, writers: 8, rounds: 8, size: 10, idBase: 100_000_000)
        let before = await ledger.status()
        await ledger.close()
        #expect(outcomes.written.withLock { $0.count } >= 1)
        #expect(outcomes.failed.load(ordering: .relaxed) == 0)
        #expect(try checkSnapshotsMatchTheLog(dir.path) >= 1)

        let sharded = try await DurableLedger.openSharded(directory: dir.path, shards: 3, segmentSize: 16 << 20)
        #expect(sharded.startup.snapshotLSN > 0)
        let after = await sharded.status()
        #expect(after.lsn == before.lsn)
        #expect(after.digest == before.digest)
        await sharded.close()
        let serial = try LedgerRecovery.recover(directory: dir.path, repair: false)
        #expect(serial.snapshot != nil)
        #expect(serial.ledger.digest() == before.digest)
    }

    @Test("Segments the snapshots cover are removed, except from the LSN followers still need")
    func segmentRemovalKeepsWhatFollowersNeed() async throws {
        for retained in [UInt64?.none, 30] {
            let dir = TemporaryDirectory()
            defer { dir.remove() }
            let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 16 << 10, snapshotEvery: 5)
            if let retained { ledger.retainLog { retained } }
            _ = try await ledger.createAccounts(accounts())
            for round in 0..<50 {
                try await write(ledger, writers: 1, rounds: 1, size: 10, idBase: round * 100_000_000)
                // Each snapshot due is written before the next batch (none skipped as busy).
                await ledger.snapshotsSettled()
            }
            let last = await ledger.status().lsn
            await ledger.close()
            let segments = try SegmentName.list(in: dir.path)
            let first = try #require(segments.first).firstLSN
            #expect(first > 1, "no segment was removed")
            let oldestKept = try #require(SnapshotStore(directory: dir.path).list().last).lsn
            if let retained {
                #expect(first <= retained, "the segment holding LSN \(retained) is gone")
            } else {
                #expect(first + 20 > oldestKept, "segments well before the oldest kept snapshot are left")
            }
            #expect(first <= oldestKept + 1)
            // The log still reads from there to the end.
            var records = try WALReader(directory: dir.path).records(from: first, through: last)
            var count = 0
            while try records.next() != nil { count += 1 }
            #expect(UInt64(count) == last - first + 1)
        }
    }
}
