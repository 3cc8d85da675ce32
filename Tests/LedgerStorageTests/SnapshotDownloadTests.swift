import LedgerCore
import Testing

@testable import LedgerStorage

/// Reads a snapshot's content back into a ledger.
struct ContentReader: SnapshotReader {
    let bytes: [UInt8]
    var offset = 0
    struct Ended: Error {}
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard bytes.count - offset >= buffer.count else { throw Ended() }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        offset += buffer.count
    }
}

/// A ledger with some accounts and transfers, as a primary would hold it.
func primaryLedger() throws -> Ledger {
    let ledger = Ledger()
    let accounts = (1...50).map { Account(id: UInt128($0), ledger: 1, code: 10) }
    _ = try ledger.createAccounts(accounts, timestamp: 1_000_000)
    var transfers: [Transfer] = []
    for i in 1...200 {
        let debit = UInt128(1 + i % 50)
        let credit = UInt128(1 + (i + 7) % 50)
        transfers.append(Transfer(id: UInt128(1000 + i), debitAccountId: debit, creditAccountId: credit,
                                  amount: UInt128(i), ledger: 1, code: 1))
    }
    _ = try ledger.createTransfers(transfers, timestamp: 2_000_000)
    return ledger
}

/// The bytes of a snapshot file of `ledger` at `lsn`, written by `SnapshotStore` in a
/// scratch directory (as the primary's file would be).
func primarySnapshotFile(_ ledger: Ledger, lsn: UInt64) throws -> [UInt8] {
    let scratch = TempDir("primary-snap")
    defer { scratch.remove() }
    var content: [UInt8] = []
    ledger.snapshot().write { content.append(contentsOf: $0) }
    let info = try SnapshotStore(directory: scratch.path).write(lsn: lsn) { sink throws(WALError) in try sink.write(content) }
    return try readFile(info.path)
}

@Suite struct SnapshotDownloadTests {
    @Test func resumedDownloadInstallsAndTheWriterStartsFromIt() async throws {
        let dir = TempDir("download")
        defer { dir.remove() }
        // The follower's old log (another history: it is replaced).
        _ = try await writeEpochLog(dir.path, count: 30)
        try SnapshotStore(directory: dir.path).write(lsn: 20) { sink throws(WALError) in try sink.write([20]) }
        try history([(1, 1)]).write(directory: dir.path)
        let ledger = try primaryLedger()
        let file = try primarySnapshotFile(ledger, lsn: 500)
        #expect(file.count > 10_000)

        #expect(try SnapshotDownload.resumePoint(directory: dir.path) == nil)
        let half = file.count / 2
        do {
            let download = try SnapshotDownload.begin(directory: dir.path, lsn: 500)
            try download.write(Array(file[0..<4096]), at: 0)
            try download.write(Array(file[4096..<half]), at: 4096)
            // The connection breaks: the download is dropped without finish.
        }
        let resume = try SnapshotDownload.resumePoint(directory: dir.path)
        #expect(resume?.lsn == 500 && resume?.offset == UInt64(half))
        // While it waits, a start and `wal verify` keep the part file and report it.
        let waiting = try verdict(dir.path)
        #expect(waiting.refusals.isEmpty && waiting.staleTemporaries.isEmpty)
        #expect(waiting.notes.contains { $0.contains(SnapshotDownload.partFileName(lsn: 500)) })
        do {
            let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: truncationSegmentSize))
            #expect(w.lastAssignedLSN == 30)
            await w.close()
        }
        #expect(FileIO.exists(dir.file(SnapshotDownload.partFileName(lsn: 500))))

        let download = try SnapshotDownload.begin(directory: dir.path, lsn: 500, offset: UInt64(half))
        try download.write(Array(file[half...]), at: UInt64(half))
        let info = try download.finish()
        #expect(info.lsn == 500)

        let primaryEpochs = history([(1, 1), (2, 300)])
        var steps: [String] = []
        let removed = try SnapshotDownload.install(directory: dir.path, lsn: 500, epochs: primaryEpochs) { step in
            steps.append(step)
            // A kill -9 here leaves an older state of the old history, or the new one.
            let v = try? verdict(dir.path)
            #expect(v?.refusals == [], "after \(step)")
            #expect(v.map { $0.recoveredLSN <= 30 || $0.recoveredLSN == 500 } == true, "after \(step)")
        }
        #expect(removed.contains(SegmentName(firstLSN: 1).fileName) && removed.contains(SnapshotInfo.fileName(lsn: 20)))
        #expect(steps.count == removed.count + 2)
        #expect(try FileIO.list(dir.path).sorted() == [DataDirectoryLock.fileName, ControlFile.fileName,
                                                       EpochHistoryFile.fileName, SnapshotInfo.fileName(lsn: 500)].sorted())
        #expect(try ControlFile.load(directory: dir.path) == ControlFile(snapshotLSN: 500, durableLSN: 500, lastSegmentLSN: 0))
        #expect(try EpochHistoryFile.read(directory: dir.path) == primaryEpochs)
        let v = try verdict(dir.path)
        #expect(v.refusals.isEmpty && !v.changesOrRefuses && v.snapshot?.lsn == 500 && v.recoveredLSN == 500)

        // The writer starts after the snapshot, and recovery loads the primary's state.
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: truncationSegmentSize))
        #expect(w.lastAssignedLSN == 500)
        #expect(w.startup.snapshot?.lsn == 500)
        let store = SnapshotStore(directory: dir.path)
        let newest = try #require(store.newestValid())
        var content: [UInt8] = []
        try store.load(newest) { chunk in content.append(contentsOf: chunk) }
        var reader = ContentReader(bytes: content)
        let loaded = try Ledger(snapshot: &reader, hashSeed: 5)
        #expect(loaded.digest() == ledger.digest())
        let lsn = try await w.appendDurably(operation: 1, timestamp: 3_000_000, eventCount: 1, body: [1, 2, 3])
        #expect(lsn == 501)
        await w.close()
        #expect(try readAll(dir.path, from: 501).map(\.lsn) == [501])
        #expect(try SnapshotDownload.resumePoint(directory: dir.path) == nil)
    }

    @Test func aPartFileForAnotherLSNIsDeleted() throws {
        let dir = TempDir("download-other")
        defer { dir.remove() }
        try writeFile(dir.file(SnapshotDownload.partFileName(lsn: 40)), [1, 2, 3, 4])
        #expect(try SnapshotDownload.resumePoint(directory: dir.path).map { [$0.lsn, $0.offset] } == [40, 4])
        let download = try SnapshotDownload.begin(directory: dir.path, lsn: 90)
        #expect(!FileIO.exists(dir.file(SnapshotDownload.partFileName(lsn: 40))))
        #expect(try SnapshotDownload.resumePoint(directory: dir.path).map { [$0.lsn, $0.offset] } == [90, 0])
        // A second download of the same directory waits for this one to finish.
        let error = #expect(throws: WALError.self) { try SnapshotDownload.begin(directory: dir.path, lsn: 90) }
        #expect(error?.code == .locked)
        withExtendedLifetime(download) {}
    }

    @Test func resumingPastTheEndIsRefused() throws {
        let dir = TempDir("download-past")
        defer { dir.remove() }
        try writeFile(dir.file(SnapshotDownload.partFileName(lsn: 7)), [1, 2, 3, 4])
        let error = #expect(throws: WALError.self) { try SnapshotDownload.begin(directory: dir.path, lsn: 7, offset: 5) }
        #expect(error?.code == .invalidArgument)
        // Resuming inside the file drops what follows the offset.
        let download = try SnapshotDownload.begin(directory: dir.path, lsn: 7, offset: 2)
        #expect(try readFile(download.path) == [1, 2])
    }

    @Test(arguments: [3, 70, -1, 0])
    func aCorruptDownloadFailsFinishAndIsDeleted(position: Int) throws {
        let dir = TempDir("download-corrupt")
        defer { dir.remove() }
        var file = try primarySnapshotFile(try primaryLedger(), lsn: 77)
        if position >= 0 {
            file[position == 0 ? file.count - 1 : position] ^= 0x20
        } else {
            file.removeLast()   // short
        }
        let download = try SnapshotDownload.begin(directory: dir.path, lsn: 77)
        try download.write(file, at: 0)
        let error = #expect(throws: WALError.self) { try download.finish() }
        #expect(error?.code == .snapshotInvalid)
        #expect(try SnapshotDownload.resumePoint(directory: dir.path) == nil)
        #expect(try FileIO.list(dir.path) == [DataDirectoryLock.fileName])
        // And install refuses: there is nothing to install.
        let refused = #expect(throws: WALError.self) {
            try SnapshotDownload.install(directory: dir.path, lsn: 77, epochs: EpochHistoryFile())
        }
        #expect(refused?.code == .snapshotInvalid)
    }

    @Test func aSnapshotOfAnotherLSNIsRejected() throws {
        let dir = TempDir("download-lsn")
        defer { dir.remove() }
        let file = try primarySnapshotFile(try primaryLedger(), lsn: 12)
        let download = try SnapshotDownload.begin(directory: dir.path, lsn: 13)
        try download.write(file, at: 0)
        let error = #expect(throws: WALError.self) { try download.finish() }
        #expect(error?.code == .snapshotInvalid)
        #expect(!FileIO.exists(download.path))
    }

    @Test func lockedWhileAWriterHoldsTheDirectory() async throws {
        let dir = TempDir("download-locked")
        defer { dir.remove() }
        let file = try primarySnapshotFile(try primaryLedger(), lsn: 9)
        try writeFile(dir.file(SnapshotDownload.partFileName(lsn: 9)), file)
        let (w, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: truncationSegmentSize))
        let begun = #expect(throws: WALError.self) { try SnapshotDownload.begin(directory: dir.path, lsn: 9) }
        #expect(begun?.code == .locked)
        let installed = #expect(throws: WALError.self) {
            try SnapshotDownload.install(directory: dir.path, lsn: 9, epochs: EpochHistoryFile())
        }
        #expect(installed?.code == .locked)
        await w.close()
        // Once the writer is gone the same part installs.
        try SnapshotDownload.install(directory: dir.path, lsn: 9, epochs: EpochHistoryFile())
        #expect(try verdict(dir.path).recoveredLSN == 9)
    }

    @Test func anInstallInterruptedAfterTheRenameIsFinished() async throws {
        let dir = TempDir("download-rename")
        defer { dir.remove() }
        _ = try await writeEpochLog(dir.path, count: 12)
        let file = try primarySnapshotFile(try primaryLedger(), lsn: 60)
        try writeFile(dir.file(SnapshotDownload.partFileName(lsn: 60)), file)
        // Every intermediate state, kept as a kill -9 would leave it.
        var states: [TempDir] = []
        defer { for s in states { s.remove() } }
        _ = try SnapshotDownload.install(directory: dir.path, lsn: 60, epochs: history([(3, 40)])) { _ in
            let copy = TempDir("download-rename-\(states.count)")
            try? copyDirectory(dir.path, copy.path)
            states.append(copy)
        }
        #expect(states.count >= 4)
        for state in states {
            #expect(try verdict(state.path).refusals.isEmpty)
            // The follower runs install again (the part file is there until the rename).
            try SnapshotDownload.install(directory: state.path, lsn: 60, epochs: history([(3, 40)]))
            #expect(try ControlFile.load(directory: state.path) == ControlFile(snapshotLSN: 60, durableLSN: 60, lastSegmentLSN: 0))
            #expect(try EpochHistoryFile.read(directory: state.path) == history([(3, 40)]))
            let (w, _) = try WALWriter.open(WALConfiguration(directory: state.path, segmentSize: truncationSegmentSize))
            #expect(w.lastAssignedLSN == 60)
            await w.close()
        }
    }
}
