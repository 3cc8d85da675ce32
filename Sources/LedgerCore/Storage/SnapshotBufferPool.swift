import Synchronization

/// Keeps the last snapshot's copy buffer for the next snapshot, so that taking a snapshot
/// is a plain memory copy into pages already mapped: no page faults (and no huge-page
/// compaction) inside the pause. Snapshots are released on other threads, so the single
/// spare slot is behind a mutex.
///
/// The state grows between snapshots (a copy of the pending statuses holds one byte per
/// transfer): a block given back with too little room over the last request (of 1 MiB or
/// more: an eighth of it, at least 4 MiB) is replaced by one with more (`headroom(for:)`)
/// right there, by the thread that released the snapshot, so the next capture, inside the
/// log's lock, finds a block big enough already mapped.
///
/// A pool whose size follows the transfers (`followsTransfers`: one status byte per
/// transfer) keeps room for twice its last request and more: under the byte trigger a
/// snapshot waits for as many bytes of log as the last one held, about one 128-byte record
/// per transfer it held, so the transfers at least double from one snapshot to the next
/// while the state is loaded. With a quarter more, the capture at 17 M transfers (after
/// one at 8.5 M) mapped and touched a new 21 MB block inside the lock: 61-80 ms.
final class SnapshotBufferPool: Sendable {
    /// A raw block and its size in bytes, handed between threads with the pool's lock.
    struct Block: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let bytes: Int
    }

    private struct Slot {
        var spare: Block?
        /// The largest request of the last `take` (what the next one will at least ask).
        var demand = 0
    }

    private let slot = Mutex(Slot())
    /// The size of the copy doubles from one snapshot to the next (see above).
    let followsTransfers: Bool

    init(followsTransfers: Bool = false) { self.followsTransfers = followsTransfers }

    /// A block of at least `bytes`: the spare one when large enough, else a new one with
    /// 25 % headroom, touched page by page so the copy that follows does not fault.
    func take(bytes: Int) -> Block {
        precondition(bytes >= 0)
        if let block = slot.withLock({ s -> Block? in
            s.demand = bytes
            guard let block = s.spare, block.bytes >= bytes else { return nil }
            s.spare = nil
            return block
        }) {
            return block
        }
        return Self.mapped(bytes: max(bytes + bytes / 4, 64))
    }

    /// Returns a block for reuse; frees whichever block is smaller. When the block kept
    /// has too little room over the last request, a bigger one is mapped here instead
    /// (off the capture's lock: this runs where the snapshot is released).
    func give(_ block: Block) {
        let (dropped, grow): (Block?, Int?) = slot.withLock { s in
            var dropped: Block? = nil
            if let current = s.spare {
                if current.bytes >= block.bytes {
                    dropped = block
                } else {
                    s.spare = block
                    dropped = current
                }
            } else {
                s.spare = block
            }
            guard s.demand >= Self.growthFloor, let kept = s.spare,
                kept.bytes < (followsTransfers ? 2 * s.demand : s.demand) + max(s.demand / 8, Self.minimumGrowth / 2)
            else { return (dropped, nil) }
            return (dropped, Self.headroom(for: s.demand, followsTransfers: followsTransfers))
        }
        if let dropped { Self.free(dropped) }
        guard let grow else { return }
        let bigger = Self.mapped(bytes: grow)
        let replaced: Block? = slot.withLock { s in
            guard let current = s.spare else {
                s.spare = bigger
                return nil
            }
            if current.bytes >= bigger.bytes { return bigger }
            s.spare = bigger
            return current
        }
        if let replaced { Self.free(replaced) }
    }

    /// Requests below this (1 MiB) are cheap to map inside the capture: no spare is grown for them.
    static let growthFloor = 1 << 20

    /// The least room for growth a replaced spare gets (8 MiB: eight million transfers'
    /// statuses, about a GiB of log between two snapshots).
    static let minimumGrowth = 8 << 20

    /// The spare size kept for a last request of `bytes`: a quarter more, at least
    /// `minimumGrowth` more; for a pool that follows the transfers, twice that request
    /// and as much more.
    static func headroom(for bytes: Int, followsTransfers: Bool = false) -> Int {
        (followsTransfers ? 2 * bytes : bytes) + max(bytes / 4, minimumGrowth)
    }

    /// A new block of `bytes`, touched page by page.
    private static func mapped(bytes: Int) -> Block {
        let base = UnsafeMutableRawPointer(LargeAllocation.allocate(UInt8.self, count: bytes))
        var offset = 0
        while offset < bytes {
            base.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            offset += 4096
        }
        return Block(base: base, bytes: bytes)
    }

    /// Bytes of the spare block (0: none): for tests.
    var spareBytes: Int { slot.withLock { $0.spare?.bytes ?? 0 } }

    static func free(_ block: Block) {
        LargeAllocation.deallocate(block.base.assumingMemoryBound(to: UInt8.self), count: block.bytes)
    }

    deinit {
        if let block = slot.withLock({ $0.spare }) { Self.free(block) }
    }
}
