#if canImport(Glibc)
import Glibc
#endif

/// Allocation of large blocks (transfer chunks, id index slots) on 2 MiB boundaries with
/// transparent huge pages requested: one page fault per 2 MiB instead of 512, and far
/// fewer TLB misses on the random probes of the id index. Memory management only, no IO.
/// Smaller blocks are aligned to a cache line (64 bytes), so that 64-byte records such as
/// `TransferList` never straddle two lines. Falls back to ordinary allocation where
/// huge pages are unavailable.
package enum LargeAllocation {
    package static let hugePageSize = 2 << 20
    static let cacheLineSize = 64

    /// Allocates `count` elements; large blocks get huge-page alignment and advice.
    package static func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        precondition(count >= 0, "negative allocation")
        let bytes = count * MemoryLayout<T>.stride  // traps on overflow
        #if canImport(Glibc)
        let huge = bytes >= hugePageSize
        var raw: UnsafeMutableRawPointer?
        if posix_memalign(&raw, huge ? hugePageSize : cacheLineSize, max(bytes, 1)) == 0, let raw {
            assert(Int(bitPattern: raw) % (huge ? hugePageSize : cacheLineSize) == 0)
            if huge { _ = madvise(raw, bytes, MADV_HUGEPAGE) }
            return raw.bindMemory(to: T.self, capacity: count)
        }
        #endif
        return .allocate(capacity: count)
    }

    /// Frees a block from `allocate` with the same `count`.
    package static func deallocate<T>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
        #if canImport(Glibc)
        free(pointer)  // posix_memalign, or Swift's allocation, which is malloc here
        #else
        pointer.deallocate()
        #endif
    }
}
