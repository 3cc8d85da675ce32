import Synchronization

/// Keeps the last snapshot's account copy buffer for the next snapshot, so that taking a
/// snapshot is a plain memory copy into pages already mapped: no page faults (and no
/// huge-page compaction) inside the pause. Snapshots are released on other threads, so
/// the single spare slot is behind a mutex.
final class SnapshotBufferPool: Sendable {
    /// A raw block and its size in bytes, handed between threads with the pool's lock.
    struct Block: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let bytes: Int
    }

    private let spare = Mutex<Block?>(nil)

    /// A block of at least `bytes`: the spare one when large enough, else a new one with
    /// 25 % headroom, touched page by page so the copy that follows does not fault.
    func take(bytes: Int) -> Block {
        precondition(bytes >= 0)
        if let block = spare.withLock({ slot -> Block? in
            guard let block = slot, block.bytes >= bytes else { return nil }
            slot = nil
            return block
        }) {
            return block
        }
        let size = max(bytes + bytes / 4, 64)
        let base = UnsafeMutableRawPointer(LargeAllocation.allocate(UInt8.self, count: size))
        var offset = 0
        while offset < size {
            base.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            offset += 4096
        }
        return Block(base: base, bytes: size)
    }

    /// Returns a block for reuse; frees whichever block is smaller.
    func give(_ block: Block) {
        let dropped: Block? = spare.withLock { slot in
            guard let current = slot else {
                slot = block
                return nil
            }
            if current.bytes >= block.bytes { return block }
            slot = block
            return current
        }
        if let dropped { Self.free(dropped) }
    }

    static func free(_ block: Block) {
        LargeAllocation.deallocate(block.base.assumingMemoryBound(to: UInt8.self), count: block.bytes)
    }

    deinit {
        if let block = spare.withLock({ $0 }) { Self.free(block) }
    }
}
