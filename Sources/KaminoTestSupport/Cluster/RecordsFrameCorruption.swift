import CKaminoCRC
import Synchronization

/// Damages the replication stream once: in the primary-to-follower bytes, flips one byte
/// of the first record's body in the `records` frame number `afterRecordsFrames + 1`
/// seen on a connection; with `fixFrameChecksums`, the frame's body and header checksums
/// are recomputed, so that only the record's own checksum can tell (docs/replication.md: a 32-byte header, `type` at byte 6, `body_size`
/// little-endian at bytes 16..<20; `records` is type 3). Only the first connection that
/// gets that far is damaged. Give `tamper` to a `TCPFaultProxy`.
package final class RecordsFrameCorruption: Sendable {
    /// The `records` frames to let through untouched before the damaged one.
    package let afterRecordsFrames: Int
    /// Recompute the frame's checksums after the flip.
    package let fixFrameChecksums: Bool
    private let done = Atomic<Bool>(false)

    package init(afterRecordsFrames: Int, fixFrameChecksums: Bool = false) {
        precondition(afterRecordsFrames >= 0, "a count of frames")
        self.afterRecordsFrames = afterRecordsFrames
        self.fixFrameChecksums = fixFrameChecksums
    }

    /// True once a byte was flipped.
    package var happened: Bool { done.load(ordering: .acquiring) }

    /// The tamper of one connection (a new frame parser).
    package func tamper() -> any StreamTamper { RecordsFrameFlipper(owner: self) }

    /// Claims the one flip; false when it already happened.
    fileprivate func claim() -> Bool {
        done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

/// Follows frame boundaries in one connection's primary-to-follower bytes. Headers are
/// held until complete, and the damaged frame until all of it arrived (so that its
/// checksums can be recomputed); everything else passes at once.
private final class RecordsFrameFlipper: StreamTamper {
    static let headerSize = 32
    static let recordsType: UInt8 = 3
    /// The body's 24-byte prefix, then the first record's 64-byte header.
    static let firstRecordBody = 24 + 64

    let owner: RecordsFrameCorruption
    /// The bytes of the current header while incomplete, or of the whole damaged frame.
    var held: [UInt8] = []
    /// Body bytes of the current frame still to come, and whether they are held.
    var bodyLeft = 0
    var holdingBody = false
    var recordsFramesSeen = 0

    init(owner: RecordsFrameCorruption) { self.owner = owner }

    func process(_ chunk: inout [UInt8]) {
        var out: [UInt8] = []
        out.reserveCapacity(chunk.count)
        var i = 0
        while i < chunk.count {
            if bodyLeft == 0 && !holdingBody {
                let take = min(Self.headerSize - held.count, chunk.count - i)
                held += chunk[i..<(i + take)]
                i += take
                guard held.count == Self.headerSize else { break }
                let type = held[6]
                bodyLeft = Int(held[16]) | Int(held[17]) << 8 | Int(held[18]) << 16 | Int(held[19]) << 24
                if type == Self.recordsType { recordsFramesSeen += 1 }
                if type == Self.recordsType, recordsFramesSeen == owner.afterRecordsFrames + 1,
                    bodyLeft > Self.firstRecordBody + 8, owner.claim()
                {
                    holdingBody = true
                } else {
                    out += held
                    held = []
                }
                continue
            }
            let take = min(bodyLeft, chunk.count - i)
            if holdingBody { held += chunk[i..<(i + take)] } else { out += chunk[i..<(i + take)] }
            bodyLeft -= take
            i += take
            if holdingBody && bodyLeft == 0 {
                out += damaged(held)
                held = []
                holdingBody = false
            }
        }
        chunk = out
    }

    /// The frame with one byte of its first record's body flipped; with
    /// `fixFrameChecksums`, its body and header checksums are recomputed to match.
    private func damaged(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        frame[Self.headerSize + Self.firstRecordBody + 4] ^= 0x5A
        guard owner.fixFrameChecksums else { return frame }
        let body = frame[Self.headerSize...].withUnsafeBytes { kamino_crc32c(0, $0.baseAddress, $0.count) }
        for k in 0..<4 { frame[20 + k] = UInt8(truncatingIfNeeded: body >> (8 * UInt32(k))) }
        let header = frame[0..<28].withUnsafeBytes { kamino_crc32c(0, $0.baseAddress, $0.count) }
        for k in 0..<4 { frame[28 + k] = UInt8(truncatingIfNeeded: header >> (8 * UInt32(k))) }
        return frame
    }
}
