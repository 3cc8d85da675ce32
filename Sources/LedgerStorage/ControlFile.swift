#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// What a data directory must contain, recorded in `<dir>/kamino.control` (as PostgreSQL's
/// `pg_control` or TigerBeetle's superblock): the newest snapshot and the LSN known to be
/// durable when the file was last written. Start-up and `kamino wal verify` refuse a
/// directory that holds less (`DirectoryCheck`).
///
/// 64 bytes, little-endian: magic "KCTL" (u32), format version (u16), reserved (u16),
/// snapshot LSN (u64), durable LSN (u64), clean shutdown (u8), zero padding, the newest
/// segment's first LSN (u64 at 32), zero padding, CRC32C of bytes 0..<60 at 60. Replaced atomically (write a temporary, fsync, rename, fsync the
/// directory), and written at start-up, when a log segment is created, after a snapshot
/// and at clean shutdown: never on the per-batch path.
package struct ControlFile: Sendable, Equatable {
    /// The file's name inside the data directory.
    package static let fileName = "kamino.control"
    /// Size in bytes.
    package static let size = 64
    /// "KCTL" read as a little-endian UInt32.
    static let magic: UInt32 = 0x4C54_434B
    /// Format version written by this code.
    static let formatVersion: UInt16 = 1

    /// The newest snapshot written (0: none). The directory must hold it, or an older
    /// valid snapshot plus the log from there.
    package var snapshotLSN: UInt64
    /// Every record up to this LSN was durable: the directory must rebuild at least it.
    package var durableLSN: UInt64
    /// True when written by a clean shutdown (nothing was in flight after `durableLSN`).
    package var cleanShutdown: Bool
    /// The first LSN of the newest segment created (0: none): the log may not end in an
    /// older segment (the newest one was removed), even when what was durable at the last
    /// update is all there.
    package var lastSegmentLSN: UInt64

    package init(snapshotLSN: UInt64 = 0, durableLSN: UInt64 = 0, cleanShutdown: Bool = false, lastSegmentLSN: UInt64 = 0) {
        self.snapshotLSN = snapshotLSN
        self.durableLSN = durableLSN
        self.cleanShutdown = cleanShutdown
        self.lastSegmentLSN = lastSegmentLSN
    }

    func encode() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.withUnsafeMutableBytes { raw in
            guard let p = raw.baseAddress else { return }
            p.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: Self.formatVersion.littleEndian, toByteOffset: 4, as: UInt16.self)
            p.storeBytes(of: snapshotLSN.littleEndian, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: durableLSN.littleEndian, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: cleanShutdown ? 1 : 0, toByteOffset: 24, as: UInt8.self)
            p.storeBytes(of: lastSegmentLSN.littleEndian, toByteOffset: 32, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60))
            p.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        return bytes
    }

    /// Decodes the file's bytes; nil when the size, magic, version or checksum is wrong.
    static func decode(_ bytes: [UInt8]) -> ControlFile? {
        guard bytes.count == size else { return nil }
        return bytes.withUnsafeBytes { raw -> ControlFile? in
            guard let p = raw.baseAddress,
                  RecordHeader.load(p, 0, as: UInt32.self) == magic,
                  RecordHeader.load(p, 4, as: UInt16.self) == formatVersion,
                  CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60)) == RecordHeader.load(p, 60, as: UInt32.self),
                  RecordHeader.load(p, 24, as: UInt8.self) <= 1
            else { return nil }
            return ControlFile(snapshotLSN: RecordHeader.load(p, 8, as: UInt64.self),
                               durableLSN: RecordHeader.load(p, 16, as: UInt64.self),
                               cleanShutdown: RecordHeader.load(p, 24, as: UInt8.self) == 1,
                               lastSegmentLSN: RecordHeader.load(p, 32, as: UInt64.self))
        }
    }

    /// Reads the directory's control file: nil when there is none; `.corrupt` when it
    /// exists but does not decode.
    package static func load(directory: String) throws(WALError) -> ControlFile? {
        let path = FileIO.join(directory, fileName)
        guard FileIO.exists(path) else { return nil }
        let bytes = try FileIO.readAll(path)
        guard let control = decode(bytes) else {
            throw WALError(.corrupt, "control file \(fileName) is corrupt (\(bytes.count) bytes; size, magic, version or checksum wrong)",
                           file: path)
        }
        return control
    }

    /// Replaces the directory's control file atomically and durably.
    package func write(directory: String) throws(WALError) {
        try FileIO.replaceAtomically(directory: directory, name: Self.fileName, with: encode())
    }
}

/// The control file of an open data directory, kept by its writer: every update only moves
/// the promises forward and is written through at once. Thread-safe (the writer thread,
/// the snapshot thread and `close` all update it).
package final class ControlFileKeeper: Sendable {
    private let directory: String
    private let current: Mutex<ControlFile>

    init(directory: String, initial: ControlFile) {
        self.directory = directory
        current = Mutex(initial)
    }

    /// The promises as last written.
    package var control: ControlFile { current.withLock { $0 } }

    /// Records that every LSN up to `lsn` is durable.
    package func recordDurable(_ lsn: UInt64, cleanShutdown: Bool = false) throws(WALError) {
        try update { c in
            c.durableLSN = max(c.durableLSN, lsn)
            c.cleanShutdown = cleanShutdown
        }
    }

    /// Records that a segment starting at `firstLSN` was created: everything before it is
    /// durable, and the log may not end in an older segment from now on.
    package func recordNewSegment(firstLSN: UInt64) throws(WALError) {
        precondition(firstLSN >= 1, "LSNs start at 1")
        try update { c in
            c.durableLSN = max(c.durableLSN, firstLSN - 1)
            c.lastSegmentLSN = max(c.lastSegmentLSN, firstLSN)
            c.cleanShutdown = false
        }
    }

    /// Records a durable snapshot at `lsn` (its LSN is durable in the log too).
    package func recordSnapshot(_ lsn: UInt64) throws(WALError) {
        try update { c in
            c.snapshotLSN = max(c.snapshotLSN, lsn)
            c.durableLSN = max(c.durableLSN, lsn)
            c.cleanShutdown = false
        }
    }

    private func update(_ change: (inout ControlFile) -> Void) throws(WALError) {
        try current.withLock { c throws(WALError) in
            var next = c
            change(&next)
            assert(next.durableLSN >= c.durableLSN && next.snapshotLSN >= c.snapshotLSN
                       && next.lastSegmentLSN >= c.lastSegmentLSN, "promises only move forward")
            guard next != c else { return }
            try next.write(directory: directory)
            c = next
        }
    }
}
