import Synchronization

/// Damages the replication stream once: in the primary-to-follower bytes, flips one byte
/// in the middle of the body of the `records` frame number `afterRecordsFrames + 1` seen
/// on a connection (docs/replication.md: a 32-byte header, `type` at byte 6, `body_size`
/// little-endian at bytes 16..<20; `records` is type 3). Only the first connection that
/// gets that far is damaged. Give `tamper` to a `TCPFaultProxy`.
package final class RecordsFrameCorruption: Sendable {
    /// The `records` frames to let through untouched before the damaged one.
    package let afterRecordsFrames: Int
    private let done = Atomic<Bool>(false)

    package init(afterRecordsFrames: Int) {
        precondition(afterRecordsFrames >= 0, "a count of frames")
        self.afterRecordsFrames = afterRecordsFrames
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

/// Follows frame boundaries in one connection's primary-to-follower bytes.
private final class RecordsFrameFlipper: StreamTamper {
    static let headerSize = 32
    static let recordsType: UInt8 = 3

    let owner: RecordsFrameCorruption
    /// The bytes of the current header, while it is incomplete.
    var header: [UInt8] = []
    /// Body bytes of the current frame still to pass, and its size and type.
    var bodyLeft = 0
    var bodySize = 0
    var type: UInt8 = 0
    var recordsFramesSeen = 0

    init(owner: RecordsFrameCorruption) { self.owner = owner }

    func process(_ chunk: inout [UInt8]) {
        var i = 0
        while i < chunk.count {
            if bodyLeft == 0 {
                let take = min(Self.headerSize - header.count, chunk.count - i)
                header += chunk[i..<(i + take)]
                i += take
                guard header.count == Self.headerSize else { return }
                type = header[6]
                bodySize = Int(header[16]) | Int(header[17]) << 8 | Int(header[18]) << 16 | Int(header[19]) << 24
                bodyLeft = bodySize
                header = []
                if type == Self.recordsType { recordsFramesSeen += 1 }
                continue
            }
            let take = min(bodyLeft, chunk.count - i)
            // The body offset of chunk[i] is bodySize - bodyLeft; flip the middle byte.
            let target = bodySize / 2
            let offset = bodySize - bodyLeft
            if type == Self.recordsType, recordsFramesSeen == owner.afterRecordsFrames + 1,
                target >= offset, target < offset + take, owner.claim()
            {
                chunk[i + target - offset] ^= 0x5A
            }
            bodyLeft -= take
            i += take
        }
    }
}
