#if canImport(Glibc)
import Glibc
#endif

/// Allocation of large blocks (transfer chunks, id index slots) on 2 MiB boundaries with
/// transparent huge pages requested: one page fault per 2 MiB instead of 512, and far
/// fewer TLB misses on the random probes of the id index. Memory management only, no IO.
///
/// Blocks of 2 MiB or more are mapped directly from the kernel (`mmap`), so they start
/// zeroed: an id-index table then needs no zeroing pass. Smaller blocks come from
/// `posix_memalign`, aligned to a cache line (64 bytes) so that 64-byte records such as
/// `TransferList` never straddle two lines. Falls back to ordinary allocation where
/// neither is available.
enum LargeAllocation {
    static let hugePageSize = 2 << 20
    static let cacheLineSize = 64

    /// True when blocks of `bytes` are mapped directly, hence start zeroed.
    static func isMapped(bytes: Int) -> Bool { bytes >= hugePageSize }

    /// Allocates `count` elements; large blocks get huge-page alignment and advice, and
    /// start zeroed (`isMapped`).
    static func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = count * MemoryLayout<T>.stride
        #if canImport(Glibc)
        if isMapped(bytes: bytes) {
            // Like any allocation in Swift, running out of memory stops the process;
            // `deallocate` relies on large blocks always being mappings.
            guard let block = mapAligned(bytes) else { preconditionFailure("out of memory mapping \(bytes) bytes") }
            return block.bindMemory(to: T.self, capacity: count)
        }
        var raw: UnsafeMutableRawPointer?
        if posix_memalign(&raw, cacheLineSize, max(bytes, 1)) == 0, let raw {
            return raw.bindMemory(to: T.self, capacity: count)
        }
        #endif
        return .allocate(capacity: count)
    }

    /// Frees a block from `allocate` with the same `count`.
    static func deallocate<T>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
        #if canImport(Glibc)
        let bytes = count * MemoryLayout<T>.stride
        if isMapped(bytes: bytes) {
            munmap(UnsafeMutableRawPointer(pointer), roundedUp(bytes))
        } else {
            free(pointer)  // posix_memalign, or Swift's allocation, which is malloc here
        }
        #else
        pointer.deallocate()
        #endif
    }

    private static func roundedUp(_ bytes: Int) -> Int { (bytes + hugePageSize - 1) & ~(hugePageSize - 1) }

    #if canImport(Glibc)
    /// A zeroed mapping of `bytes` (rounded up to 2 MiB) on a 2 MiB boundary: maps 2 MiB
    /// more than needed and unmaps the unaligned head and the tail.
    private static func mapAligned(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let size = roundedUp(bytes)
        guard let raw = mmap(nil, size + hugePageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            raw != MAP_FAILED
        else { return nil }
        let address = UInt(bitPattern: raw)
        let aligned = (address + UInt(hugePageSize) - 1) & ~UInt(hugePageSize - 1)
        let head = Int(aligned - address)
        if head > 0 { munmap(raw, head) }
        let tail = hugePageSize - head
        guard let block = UnsafeMutableRawPointer(bitPattern: aligned) else { return nil }
        if tail > 0 { munmap(block + size, tail) }
        _ = madvise(block, size, MADV_HUGEPAGE)
        return block
    }
    #endif
}
