/// An append-only array of fixed-size records kept in fixed-size chunks, so it never moves
/// or over-allocates by more than one chunk (a doubling array can hold 2x what it uses).
///
/// Records never move once written, so a snapshot can read records below a captured
/// count while new ones are appended.
final class ChunkedStore<Element: BitwiseCopyable> {
    static var chunkShift: Int { 14 }
    private static var chunkSize: Int { 1 << chunkShift }
    private static var chunkMask: Int { chunkSize - 1 }

    private var chunks: [UnsafeMutablePointer<Element>] = []
    private(set) var count: Int = 0

    init() {}

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    /// Bytes held by the chunks.
    var memoryBytes: Int { chunks.count * Self.chunkSize * MemoryLayout<Element>.stride }

    @inline(__always)
    subscript(index: Int) -> Element {
        get { chunks[index >> Self.chunkShift][index & Self.chunkMask] }
        set { chunks[index >> Self.chunkShift][index & Self.chunkMask] = newValue }
    }

    /// A pointer to a stored record; valid until the store is deallocated.
    @inline(__always)
    func pointer(at index: Int) -> UnsafeMutablePointer<Element> {
        chunks[index >> Self.chunkShift] + (index & Self.chunkMask)
    }

    @inline(__always)
    func append(_ element: Element) {
        if count & Self.chunkMask == 0, count >> Self.chunkShift == chunks.count {
            chunks.append(.allocate(capacity: Self.chunkSize))
        }
        (chunks[count >> Self.chunkShift] + (count & Self.chunkMask)).initialize(to: element)
        count += 1
    }

    /// Drops the last record (undo of a failed linked chain). Keeps the chunk allocated.
    @inline(__always)
    func removeLast() {
        precondition(count > 0)
        count -= 1
    }

    /// Calls `body` with each contiguous run of records in `range`.
    func forEachRun(in range: Range<Int>, _ body: (UnsafeBufferPointer<Element>) throws -> Void)
        rethrows
    {
        var i = range.lowerBound
        while i < range.upperBound {
            let offset = i & Self.chunkMask
            let n = min(Self.chunkSize - offset, range.upperBound - i)
            try body(UnsafeBufferPointer(start: chunks[i >> Self.chunkShift] + offset, count: n))
            i += n
        }
    }
}
