#if canImport(Glibc)
import Glibc
#endif

/// Allocation of large blocks (transfer chunks, id index slots) on 2 MiB boundaries with
/// transparent huge pages requested: one page fault per 2 MiB instead of 512, and far
/// fewer TLB misses on the random probes of the id index. Memory management only, no IO.
/// Falls back to ordinary allocation where huge pages are unavailable.
enum LargeAllocation {
    static let hugePageSize = 2 << 20

    /// Allocates `count` elements; large blocks get huge-page alignment and advice.
    static func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = count * MemoryLayout<T>.stride
        #if canImport(Glibc)
        if bytes >= hugePageSize {
            var raw: UnsafeMutableRawPointer?
            if posix_memalign(&raw, hugePageSize, bytes) == 0, let raw {
                _ = madvise(raw, bytes, MADV_HUGEPAGE)
                return raw.bindMemory(to: T.self, capacity: count)
            }
        }
        #endif
        return .allocate(capacity: count)
    }

    /// Frees a block from `allocate` with the same `count`.
    static func deallocate<T>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
        #if canImport(Glibc)
        if count * MemoryLayout<T>.stride >= hugePageSize {
            free(pointer)
            return
        }
        #endif
        pointer.deallocate()
    }
}
