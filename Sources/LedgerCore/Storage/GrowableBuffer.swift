/// A manually managed growable buffer of trivial elements: the per-account lists of the
/// ledger. A plain struct (no reference counting, no copy-on-write checks); its owner
/// calls `deallocate()` exactly once.
struct GrowableBuffer<Element: BitwiseCopyable>: BitwiseCopyable {
    private(set) var base: UnsafeMutablePointer<Element>?
    private(set) var count: Int = 0
    private(set) var capacity: Int = 0

    init() {}

    @inline(__always)
    subscript(index: Int) -> Element {
        get {
            assert(index >= 0 && index < count, "index out of bounds")
            return base.unsafelyUnwrapped[index]
        }
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow() }
        (base.unsafelyUnwrapped + count).initialize(to: element)
        count += 1
    }

    @inline(__always)
    mutating func removeLast() {
        precondition(count > 0)
        count -= 1
    }

    /// Drops the elements from `newCount` on (keeps the memory).
    @inline(__always)
    mutating func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= count)
        count = newCount
    }

    private mutating func grow() {
        let newCapacity = max(4, capacity + capacity / 2 + 1)
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        if let base {
            newBase.initialize(from: base, count: count)
            base.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }

    mutating func deallocate() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }
}
