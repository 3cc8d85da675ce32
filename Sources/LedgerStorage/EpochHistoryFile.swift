#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which replication epoch wrote which LSNs, kept in `<dir>/kamino.epochs`: a list of
/// (epoch, first LSN) entries, strictly increasing in both, each meaning "the records from
/// `firstLSN` on (up to the next entry) were written in `epoch`". LSNs before the first
/// entry were written in epoch 0 (before replication, or a node never promoted).
///
/// Two logs that hold the same LSN in the same epoch hold the same record (only that
/// epoch's primary wrote it), so `commonPrefix` finds how much of a follower's log agrees
/// with the primary's from the two histories alone (Raft's log matching).
///
/// File (little-endian): magic "KEPO" (u32), version (u16), reserved (u16), count (u32),
/// reserved (u32), `count` entries of 16 bytes (epoch u64, first LSN u64), then the CRC32C
/// of everything before it (u32). Replaced atomically (temporary, fsync, rename, fsync the
/// directory). A missing file is the empty history. Named `EpochHistoryFile` so as not to
/// clash with the replication protocol's wire type.
package struct EpochHistoryFile: Sendable, Equatable {
    /// One change of epoch: records from `firstLSN` on were written in `epoch`.
    package struct Entry: Sendable, Equatable {
        package let epoch: UInt64
        package let firstLSN: UInt64

        package init(epoch: UInt64, firstLSN: UInt64) {
            self.epoch = epoch
            self.firstLSN = firstLSN
        }
    }

    /// The file's name inside the data directory.
    package static let fileName = "kamino.epochs"
    /// "KEPO" read as a little-endian UInt32.
    static let magic: UInt32 = 0x4F50_454B
    /// Format version written by this code.
    static let formatVersion: UInt16 = 1
    /// Bytes before the entries.
    static let headerSize = 16
    /// Bytes per entry.
    static let entrySize = 16

    /// The entries, strictly increasing in epoch and in first LSN; epochs and LSNs >= 1.
    package let entries: [Entry]

    /// A history from entries; traps unless they are in order (`isOrdered`).
    package init(entries: [Entry] = []) {
        precondition(Self.isOrdered(entries), "epoch history entries must increase strictly in epoch and first LSN, from 1")
        self.entries = entries
    }

    /// True when `entries` increase strictly in both fields and start at epoch and LSN >= 1.
    static func isOrdered(_ entries: [Entry]) -> Bool {
        var previous = Entry(epoch: 0, firstLSN: 0)
        for entry in entries {
            guard entry.epoch > previous.epoch, entry.firstLSN > previous.firstLSN else { return false }
            previous = entry
        }
        return true
    }

    /// The newest epoch (0 for the empty history).
    package var current: UInt64 { entries.last?.epoch ?? 0 }

    /// The epoch that wrote `lsn` (0 before the first entry).
    package func epoch(of lsn: UInt64) -> UInt64 {
        entries.last { $0.firstLSN <= lsn }?.epoch ?? 0
    }

    /// The history with `epoch` starting at `firstLSN`. `epoch` must be newer than
    /// `current` and `firstLSN` not older than the last entry's; when `firstLSN` equals
    /// the last entry's, that entry is replaced (its epoch wrote no record).
    package func appending(epoch: UInt64, firstLSN: UInt64) -> EpochHistoryFile {
        precondition(epoch > current, "epoch \(epoch) is not newer than the current epoch \(current)")
        precondition(firstLSN >= 1, "LSNs start at 1")
        var next = entries
        if let last = next.last {
            precondition(firstLSN >= last.firstLSN, "epoch \(epoch) cannot start at LSN \(firstLSN), before epoch \(last.epoch)")
            if last.firstLSN == firstLSN { next.removeLast() }
        }
        next.append(Entry(epoch: epoch, firstLSN: firstLSN))
        return EpochHistoryFile(entries: next)
    }

    /// The history of a log cut after `lsn`: entries whose first LSN is above it dropped.
    package func truncated(after lsn: UInt64) -> EpochHistoryFile {
        EpochHistoryFile(entries: entries.filter { $0.firstLSN <= lsn })
    }

    /// The largest `L <= min(followerLastLSN, primaryLastLSN)` such that every LSN `<= L`
    /// has the same epoch in both histories: the follower's records up to `L` are the
    /// primary's, and the ones after must go.
    package static func commonPrefix(follower: EpochHistoryFile, followerLastLSN: UInt64,
                                     primary: EpochHistoryFile, primaryLastLSN: UInt64) -> UInt64 {
        let limit = min(followerLastLSN, primaryLastLSN)
        guard limit > 0 else { return 0 }
        // Both epoch functions are constant between these points: the first LSN where they
        // differ is one of them.
        var points = Set<UInt64>([1])
        for entry in follower.entries + primary.entries where entry.firstLSN <= limit { points.insert(entry.firstLSN) }
        for point in points.sorted() where follower.epoch(of: point) != primary.epoch(of: point) {
            return point - 1
        }
        return limit
    }

    /// The file's bytes.
    func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize + entries.count * Self.entrySize + 4)
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        put(Self.magic)
        put(Self.formatVersion)
        put(UInt16(0))
        put(UInt32(entries.count))
        put(UInt32(0))
        for entry in entries {
            put(entry.epoch)
            put(entry.firstLSN)
        }
        put(CRC32C.checksum(bytes))
        return bytes
    }

    /// Decodes the file's bytes; nil when the size, magic, version, checksum or order is wrong.
    static func decode(_ bytes: [UInt8]) -> EpochHistoryFile? {
        guard bytes.count >= headerSize + 4, (bytes.count - headerSize - 4) % entrySize == 0 else { return nil }
        return bytes.withUnsafeBytes { raw -> EpochHistoryFile? in
            guard let p = raw.baseAddress else { return nil }
            let crcOffset = bytes.count - 4
            let count = Int(RecordHeader.load(p, 8, as: UInt32.self))
            guard RecordHeader.load(p, 0, as: UInt32.self) == magic,
                  RecordHeader.load(p, 4, as: UInt16.self) == formatVersion,
                  count == (bytes.count - headerSize - 4) / entrySize,
                  CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: crcOffset)) == RecordHeader.load(p, crcOffset, as: UInt32.self)
            else { return nil }
            let entries = (0..<count).map { i in
                Entry(epoch: RecordHeader.load(p, headerSize + i * entrySize, as: UInt64.self),
                      firstLSN: RecordHeader.load(p, headerSize + i * entrySize + 8, as: UInt64.self))
            }
            guard isOrdered(entries) else { return nil }
            return EpochHistoryFile(entries: entries)
        }
    }

    /// Reads the directory's history: empty when there is no file; `.corrupt` naming the
    /// file when it does not decode.
    package static func read(directory: String) throws(WALError) -> EpochHistoryFile {
        let path = FileIO.join(directory, fileName)
        guard FileIO.exists(path) else { return EpochHistoryFile() }
        let bytes = try FileIO.readAll(path)
        guard let history = decode(bytes) else {
            throw WALError(.corrupt, "epoch history \(fileName) is corrupt (\(bytes.count) bytes; size, magic, version, checksum or order wrong)",
                           file: path)
        }
        return history
    }

    /// Replaces the directory's history atomically and durably.
    package func write(directory: String) throws(WALError) {
        try FileIO.replaceAtomically(directory: directory, name: Self.fileName, with: encode())
    }
}
