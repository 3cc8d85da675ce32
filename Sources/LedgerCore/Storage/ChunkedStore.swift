/// An append-only array of fixed-size records kept in fixed-size chunks, so it never moves
/// or over-allocates by more than one chunk (a doubling array can hold 2x what it uses).
///
/// Records never move once written, so a snapshot can read records below a captured
/// count while new ones are appended. The mutable fields live behind a raw pointer: the
/// hot path then pays no dynamic exclusivity check and no reference counting.
///
/// A struct over that pointer (no reference counting at all, so threads reading
/// different shards never contend on a count): a view. Copies share the records and are
/// valid while the store's one owner, an `OwnedChunkedStore`, lives; that owner frees the
/// records. Views stay copyable because the hot paths keep them in plain structs read by
/// several threads (`ShardRefs`, id sources), which a borrow cannot be stored in.
struct ChunkedStore<Element: BitwiseCopyable> {
    static var chunkShift: Int { 14 }
    private static var chunkSize: Int { 1 << chunkShift }
    private static var chunkMask: Int { chunkSize - 1 }

    private struct Header {
        /// The chunk pointers.
        var chunks: UnsafeMutablePointer<UnsafeMutablePointer<Element>>
        var chunkCount: Int
        var chunkCapacity: Int
        var count: Int
        /// The next chunk, allocated ahead and being faulted in by `provisioner`.
        var spare: UnsafeMutablePointer<Element>? = nil
        /// Faults in each spare chunk (nil: no spare is kept).
        var provisioner: (any MemoryProvisioning)?
        /// Chunks added by appends (growth while running), not by `reserve(forCount:)`.
        var grownChunks = 0
    }

    private let header: UnsafeMutablePointer<Header>

    /// - Parameter provisioner: keep the next chunk allocated ahead and have this fault it
    ///   in (used only for chunks of a huge page or more).
    init(provisioner: (any MemoryProvisioning)? = nil) {
        header = .allocate(capacity: 1)
        header.initialize(to: Header(
            chunks: .allocate(capacity: 16), chunkCount: 0, chunkCapacity: 16, count: 0,
            provisioner: Self.chunkSize * MemoryLayout<Element>.stride >= LargeAllocation.hugePageSize ? provisioner : nil))
    }

    private static var chunkBytes: Int { chunkSize * MemoryLayout<Element>.stride }

    /// Bytes of the chunks that records up to `count` need (what `reserve(forCount:)`
    /// allocates in an empty store).
    static func chunkBytes(forCount count: Int) -> Int {
        precondition(count >= 0, "negative record count")
        return ((count + chunkMask) >> chunkShift) * chunkBytes
    }

    /// Frees the records: only `OwnedChunkedStore`, once; no view may be used afterwards.
    fileprivate func deallocate() {
        let provisioner = header.pointee.provisioner
        for i in 0..<header.pointee.chunkCount {
            // A chunk that was the spare may still be queued for (or in) faulting.
            provisioner?.cancel(UnsafeMutableRawPointer(header.pointee.chunks[i]), bytes: Self.chunkBytes)
            LargeAllocation.deallocate(header.pointee.chunks[i], count: Self.chunkSize)
        }
        if let spare = header.pointee.spare {
            provisioner?.cancel(UnsafeMutableRawPointer(spare), bytes: Self.chunkBytes)
            LargeAllocation.deallocate(spare, count: Self.chunkSize)
        }
        header.pointee.chunks.deallocate()
        header.deinitialize(count: 1)
        header.deallocate()
    }

    var count: Int {
        @inline(__always) get { header.pointee.count }
    }

    /// Bytes held by the chunks.
    var memoryBytes: Int { (header.pointee.chunkCount + (header.pointee.spare == nil ? 0 : 1)) * Self.chunkBytes }

    /// A pointer to a stored record (`0..<count`); valid until the store is deallocated.
    @inline(__always)
    func pointer(at index: Int) -> UnsafeMutablePointer<Element> {
        assert(index >= 0 && index < header.pointee.count, "record index out of bounds")
        return slot(at: index)
    }

    /// The place of record `index` in its chunk, which must exist (unchecked against `count`:
    /// `appendReturningSlot` uses it for the record it is about to write).
    @inline(__always)
    private func slot(at index: Int) -> UnsafeMutablePointer<Element> {
        assert(index >= 0 && index >> Self.chunkShift < header.pointee.chunkCount, "chunk out of bounds")
        return header.pointee.chunks[index >> Self.chunkShift] + (index & Self.chunkMask)
    }

    @inline(__always)
    subscript(index: Int) -> Element {
        get { pointer(at: index).pointee }
        nonmutating set { pointer(at: index).pointee = newValue }
    }

    /// The last record, if any.
    var last: Element? { count > 0 ? self[count - 1] : nil }

    @inline(__always)
    func append(_ element: Element) {
        _ = appendReturningSlot(element)
    }

    /// Appends `element` and returns where it is, so the caller can amend fields in place
    /// (no intermediate copy of a large record).
    @inline(__always)
    func appendReturningSlot(_ element: Element) -> UnsafeMutablePointer<Element> {
        let n = header.pointee.count
        if n & Self.chunkMask == 0, n >> Self.chunkShift == header.pointee.chunkCount { addChunk() }
        let place = slot(at: n)
        place.initialize(to: element)
        header.pointee.count = n + 1
        return place
    }

    /// Adds `n` records whose bytes the caller fills next (`fill`), before anything reads
    /// them: a bulk load (a snapshot) can then copy records in on several threads.
    /// Returns the range of the new records.
    func appendUninitialized(_ n: Int) -> Range<Int> {
        precondition(n >= 0, "negative record count")
        let start = header.pointee.count
        let end = start + n
        while header.pointee.chunkCount << Self.chunkShift < end { addChunk() }
        header.pointee.count = end
        return start..<end
    }

    /// Copies records from `raw` (any alignment; `count * stride` bytes) into the records
    /// starting at `index`, which must exist (from `appendUninitialized`).
    func fill(at index: Int, from raw: UnsafeRawBufferPointer) {
        let stride = MemoryLayout<Element>.stride
        precondition(raw.count % stride == 0, "a partial record")
        let n = raw.count / stride
        guard n > 0, let source = raw.baseAddress else { return }
        precondition(index >= 0 && index + n <= count, "fill beyond the store")
        var done = 0
        forEachRun(in: index..<index + n) { run in
            guard let target = run.baseAddress else { return }
            UnsafeMutableRawPointer(mutating: target).copyMemory(from: source + done * stride, byteCount: run.count * stride)
            done += run.count
        }
    }

    /// Chunks appends had to add (growth while running); `reserve(forCount:)` adds none to
    /// it. For tests and diagnostics.
    var grownChunks: Int { header.pointee.grownChunks }

    /// Allocates now every chunk that records up to `count` need (start-up capacity), so
    /// that appends up to `count` allocate nothing, and returns the memory of the chunks
    /// it added (none when they exist already) for the caller to fault in. A spare chunk
    /// kept ahead is used first. Growth beyond `count` works as before.
    func reserve(forCount count: Int) -> [UnsafeMutableRawBufferPointer] {
        precondition(count >= 0, "negative record count")
        reserveChunkTable(forCount: count)
        var added: [UnsafeMutableRawBufferPointer] = []
        while header.pointee.chunkCount << Self.chunkShift < count {
            let chunk = header.pointee.spare ?? LargeAllocation.allocate(Element.self, count: Self.chunkSize)
            header.pointee.spare = nil
            (header.pointee.chunks + header.pointee.chunkCount).initialize(to: chunk)
            header.pointee.chunkCount += 1
            added.append(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(chunk), count: Self.chunkBytes))
        }
        assert(header.pointee.chunkCount << Self.chunkShift >= count, "reserved fewer chunks than asked")
        return added
    }

    /// Drops the last record (undo of a failed linked chain). Keeps the chunk allocated.
    @inline(__always)
    func removeLast() {
        precondition(header.pointee.count > 0)
        header.pointee.count -= 1
    }

    /// Makes room in the chunk table for `count` records, so appends up to `count` never
    /// move the table: another thread may then read records below the current count while
    /// this store's owner appends (the sharded ledger's rounds rely on it).
    func reserveChunkTable(forCount count: Int) {
        precondition(count >= 0)
        let needed = (count >> Self.chunkShift) + 1
        guard needed > header.pointee.chunkCapacity else { return }
        var capacity = header.pointee.chunkCapacity
        while capacity < needed { capacity *= 2 }
        let bigger = UnsafeMutablePointer<UnsafeMutablePointer<Element>>.allocate(capacity: capacity)
        bigger.moveInitialize(from: header.pointee.chunks, count: header.pointee.chunkCount)
        header.pointee.chunks.deallocate()
        header.pointee.chunks = bigger
        header.pointee.chunkCapacity = capacity
    }

    private func addChunk() {
        if header.pointee.chunkCount == header.pointee.chunkCapacity {
            let capacity = header.pointee.chunkCapacity * 2
            let bigger = UnsafeMutablePointer<UnsafeMutablePointer<Element>>.allocate(capacity: capacity)
            bigger.moveInitialize(from: header.pointee.chunks, count: header.pointee.chunkCount)
            header.pointee.chunks.deallocate()
            header.pointee.chunks = bigger
            header.pointee.chunkCapacity = capacity
        }
        let chunk = header.pointee.spare ?? LargeAllocation.allocate(Element.self, count: Self.chunkSize)
        (header.pointee.chunks + header.pointee.chunkCount).initialize(to: chunk)
        header.pointee.chunkCount += 1
        header.pointee.grownChunks += 1
        header.pointee.spare = nil
        if let provisioner = header.pointee.provisioner {
            // A block mapped and faulted in by the provisioner's thread if one is ready:
            // mapping here would wait for the memory map lock its fault-ins hold.
            if let ready = provisioner.takeBlock(bytes: Self.chunkBytes) {
                header.pointee.spare = ready.bindMemory(to: Element.self, capacity: Self.chunkSize)
            } else {
                let spare = LargeAllocation.allocate(Element.self, count: Self.chunkSize)
                header.pointee.spare = spare
                _ = provisioner.populate(UnsafeMutableRawPointer(spare), bytes: Self.chunkBytes, urgent: true)
            }
        }
    }

    /// The runs of records `0..<count` as buffers. Records below `count` never change once
    /// appended (only records of the current batch can be removed), so these buffers stay
    /// valid and unchanged while the store lives, whatever is appended later.
    func frozenRuns(count: Int) -> [UnsafeBufferPointer<Element>] {
        precondition(count >= 0 && count <= self.count, "frozen count beyond the store")
        var runs: [UnsafeBufferPointer<Element>] = []
        forEachRun(in: 0..<count) { runs.append($0) }
        return runs
    }

    /// Calls `body` with each contiguous run of records in `range`.
    func forEachRun(in range: Range<Int>, _ body: (UnsafeBufferPointer<Element>) throws -> Void)
        rethrows
    {
        assert(range.lowerBound >= 0 && range.upperBound <= count, "run beyond the store")
        var i = range.lowerBound
        while i < range.upperBound {
            let offset = i & Self.chunkMask
            let n = Swift.min(Self.chunkSize - offset, range.upperBound - i)
            try body(UnsafeBufferPointer(start: pointer(at: i), count: n))
            i += n
        }
    }
}

/// The one owner of a `ChunkedStore`'s memory: not copyable, so the records are freed
/// exactly once, when it goes away. `store` is its view, valid while the owner lives.
struct OwnedChunkedStore<Element: BitwiseCopyable>: ~Copyable {
    let store: ChunkedStore<Element>

    /// - Parameter provisioner: as for `ChunkedStore.init(provisioner:)`.
    init(provisioner: (any MemoryProvisioning)? = nil) {
        store = ChunkedStore(provisioner: provisioner)
    }

    deinit { store.deallocate() }
}

extension ChunkedStore: RandomAccessCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { count }
}
