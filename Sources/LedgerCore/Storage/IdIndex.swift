import CKaminoPrefetch

/// Where an `IdIndex` finds the id stored under a reference.
protocol IdSource {
    func id(at ref: UInt32) -> UInt128
}

/// An open-addressing hash index from a 128-bit id to a 31-bit reference into an external,
/// append-only store (the store holds the ids; the index holds 8 bytes per slot).
///
/// Each slot packs `(tag << 32) | (ref + 1)`, 0 meaning empty. `tag` is the top 32 bits of
/// the id's hash and the home slot is the top bits of `tag`, so the index can grow without
/// reading a single record. Linear probing; deletion by backward shift, so removals (the
/// undo of a failed linked chain) leave the index exactly as valid as before.
///
/// Results never depend on the layout of this index, only speed does. Mutable fields live
/// behind a raw pointer so lookups pay no exclusivity check or reference counting.
///
/// A struct over that pointer (no reference counting): a view. Copies share the slots and
/// are valid while the index's one owner, an `OwnedIdIndex`, lives; that owner frees the
/// slots. Views stay copyable for the same reason as `ChunkedStore`'s.
struct IdIndex {
    private struct Header {
        var slots: UnsafeMutablePointer<UInt64>
        var capacityLog2: Int
        var count: Int
        /// Growth, phase 1: the table twice as big, being zeroed a little per insert.
        var next: UnsafeMutablePointer<UInt64>? = nil
        var nextZeroed = 0
        /// Growth, phase 2: the previous table, its entries moved a little per insert.
        var old: UnsafeMutablePointer<UInt64>? = nil
        var oldLog2 = 0
        var migrated = 0
        /// Faults in each bigger table while it is being zeroed (nil: none).
        var provisioner: (any MemoryProvisioning)? = nil
        /// The provisioner's ticket for the table being prepared (0: none to wait for).
        var nextTicket: UInt64 = 0
        /// The table the next growth will use, allocated at `prepareLoad` and being faulted
        /// in by the provisioner (ticket `preparedTicket`) until growth starts at 5/8 load.
        var prepared: UnsafeMutablePointer<UInt64>? = nil
        var preparedTicket: UInt64 = 0
        /// Entries the table was sized for at start-up (`ensureCapacity`): no next table is
        /// prepared until the count would pass it, so an index that was given its final
        /// size allocates and faults in nothing while it fills up to it.
        var reserved = 0
        /// Growths started and next tables prepared so far (for tests and diagnostics).
        var growths = 0
    }

    private let header: UnsafeMutablePointer<Header>
    private let seed: UInt64

    /// Slots zeroed (phase 1) or moved (phase 2) per insert while the index grows.
    private static let zeroStep = 128
    private static let migrateStep = 64

    /// With a provisioner, the next table (of a huge page or more) is allocated and handed
    /// to it at 1/2 load, not when growth starts at 5/8: it then has the inserts from 1/2
    /// to 3/4 load to fault it in (twice the window), before the applying thread has to
    /// touch pages it did not get to. At millions of transfers on these VMs faulting a
    /// 256-512 MiB table took longer than the inserts from 5/8 to 3/4 load, and batches
    /// that then zeroed unfaulted pages themselves took 50-500 ms.
    @inline(__always)
    private func duePreparation(adding n: Int) -> Bool {
        header.pointee.prepared == nil && header.pointee.next == nil && header.pointee.old == nil
            && header.pointee.provisioner != nil && (header.pointee.count + n) * 2 > capacity
            && header.pointee.count + n > header.pointee.reserved
            && capacity * 2 * MemoryLayout<UInt64>.stride >= LargeAllocation.hugePageSize
    }

    /// - Parameter provisioner: faults in each bigger table (of a huge page or more) while
    ///   it is being zeroed.
    init(seed: UInt64, minimumCapacity: Int = 0, provisioner: (any MemoryProvisioning)? = nil) {
        precondition(minimumCapacity >= 0)
        self.seed = seed
        let log2 = Self.capacityLog2(for: minimumCapacity)
        let slots = LargeAllocation.allocate(UInt64.self, count: 1 << log2)
        slots.initialize(repeating: 0, count: 1 << log2)
        header = .allocate(capacity: 1)
        header.initialize(to: Header(slots: slots, capacityLog2: log2, count: 0, provisioner: provisioner))
    }

    /// Frees the slots: only `OwnedIdIndex`, once; no view may be used afterwards.
    fileprivate func deallocate() {
        if let prepared = header.pointee.prepared { release(prepared, count: capacity * 2) }
        release(header.pointee.slots, count: capacity)
        if let next = header.pointee.next {
            release(next, count: capacity * 2)
        }
        if let old = header.pointee.old { release(old, count: 1 << header.pointee.oldLog2) }
        header.deinitialize(count: 1)
        header.deallocate()
    }

    /// Frees a table, first withdrawing it from the provisioner if it may have it.
    private func release(_ table: UnsafeMutablePointer<UInt64>, count: Int) {
        let bytes = count * MemoryLayout<UInt64>.stride
        if let provisioner = header.pointee.provisioner {
            provisioner.cancel(UnsafeMutableRawPointer(table), bytes: bytes)
            // Unmapped on the provisioner's thread: unmapping waits for the memory map lock.
            if provisioner.free(UnsafeMutableRawPointer(table), bytes: bytes) { return }
        }
        LargeAllocation.deallocate(table, count: count)
    }

    var count: Int {
        @inline(__always) get { header.pointee.count }
    }
    /// Growths started and next tables prepared (allocated ahead) so far.
    var growths: Int { header.pointee.growths }
    private var capacity: Int {
        @inline(__always) get { 1 << header.pointee.capacityLog2 }
    }

    /// Bytes held by the slot arrays (two while growing).
    var memoryBytes: Int {
        var slots = capacity
        if header.pointee.next != nil || header.pointee.prepared != nil { slots += capacity * 2 }
        if header.pointee.old != nil { slots += 1 << header.pointee.oldLog2 }
        return slots * MemoryLayout<UInt64>.stride
    }

    /// The 32-bit tag of `id`: well mixed, and its top bits pick the home slot.
    @inline(__always)
    func tag(_ id: UInt128) -> UInt32 {
        let lo = UInt64(truncatingIfNeeded: id)
        let hi = UInt64(truncatingIfNeeded: id >> 64)
        var x = (lo ^ seed) &* 0x9E37_79B9_7F4A_7C15
        x ^= (hi &+ 0x632B_E59B_D9B4_E019) &* 0xC2B2_AE3D_27D4_EB4F
        x ^= x >> 31
        x &*= 0xBF58_476D_1CE4_E5B9
        x ^= x >> 29
        return UInt32(truncatingIfNeeded: x >> 32)
    }

    @inline(__always)
    private static func home(_ tag: UInt32, _ capacityLog2: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(tag) &<< 32) &>> UInt64(truncatingIfNeeded: 64 &- capacityLog2))
    }

    /// Where `id` is (`ref`), or where it would go (`slot`) when absent.
    struct Probe {
        /// The reference stored for the id, or nil when absent.
        var ref: UInt32?
        /// The empty slot where the id would be inserted (meaningful when `ref` is nil).
        var slot: Int
        var tag: UInt32
    }

    /// Walks the probe run of `tag` in one table: the first slot whose tag matches and
    /// that `accept` confirms, or the empty slot that ends the run (ref nil).
    @inline(__always)
    private static func probe(_ slots: UnsafeMutablePointer<UInt64>, _ log2: Int, tag t: UInt32,
                              accept: (UInt32) -> Bool) -> Probe {
        let mask = (1 << log2) - 1
        var i = home(t, log2)
        while true {
            let s = slots[i]
            if s == 0 { return Probe(ref: nil, slot: i, tag: t) }
            if UInt32(truncatingIfNeeded: s >> 32) == t {
                let ref = UInt32(truncatingIfNeeded: s) &- 1
                if accept(ref) { return Probe(ref: ref, slot: i, tag: t) }
            }
            i = (i &+ 1) & mask
        }
    }

    /// Finds `id`, reading stored ids from `source` when tags match.
    @inline(__always)
    func find<Source: IdSource>(_ id: UInt128, in source: Source) -> Probe {
        find(id, tag: tag(id), in: source)
    }

    /// Finds `id` whose tag (`tag(id)`) the caller already computed. The current table
    /// first, written out as a plain loop (the hot path of `create_transfers`; the
    /// closure-based walk was not inlined); while entries are being moved out of the
    /// previous table, that one too (an entry not yet moved is only there).
    @inline(__always)
    func find<Source: IdSource>(_ id: UInt128, tag t: UInt32, in source: Source) -> Probe {
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        let mask = (1 << log2) - 1
        var i = Self.home(t, log2)
        while true {
            let s = slots[i]
            if s == 0 { break }
            if UInt32(truncatingIfNeeded: s >> 32) == t {
                let ref = UInt32(truncatingIfNeeded: s) &- 1
                if source.id(at: ref) == id { return Probe(ref: ref, slot: i, tag: t) }
            }
            i = (i &+ 1) & mask
        }
        if let old = header.pointee.old {
            let inOld = Self.probe(old, header.pointee.oldLog2, tag: t) { source.id(at: $0) == id }
            if inOld.ref != nil { return Probe(ref: inOld.ref, slot: i, tag: t) }
        }
        return Probe(ref: nil, slot: i, tag: t)
    }

    /// Starts loading the home slot of the id with this tag (a non-blocking hint) so that
    /// a later `find` hits the cache.
    @inline(__always)
    func prefetch(tag: UInt32) {
        kamino_prefetch_read(header.pointee.slots + Self.home(tag, header.pointee.capacityLog2))
    }

    /// The ref of the first slot in `id`'s probe run whose tag matches, without reading
    /// any record: right almost always (a false match needs 32 equal hash bits), so it
    /// serves to prefetch a record; callers verify the record's id before using a guess.
    ///
    /// Looks in the current table only: during a migration an entry not yet moved gets no
    /// guess, which costs its caller a full `find`, never a wrong answer.
    @inline(__always)
    func guessRef(tag t: UInt32) -> UInt32? {
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        let mask = (1 << log2) - 1
        var i = Self.home(t, log2)
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if UInt32(truncatingIfNeeded: s >> 32) == t { return UInt32(truncatingIfNeeded: s) &- 1 }
            i = (i &+ 1) & mask
        }
    }

    /// Ensures one more insert fits, and advances a growth in progress by a small step, so
    /// no insert pays for a whole rehash (the tail latency of a doubling). Call before
    /// `find` when the caller may then `insert`: nothing moves between them.
    ///
    /// Growth starts at 5/8 load: phase 1 zeroes a table twice as big, `zeroStep` slots
    /// per call; phase 2 makes it current and moves `migrateStep` old slots per call.
    /// Both end well before the old table would pass 3/4 load.
    @inline(__always)
    func reserveOne() {
        if header.pointee.next != nil || header.pointee.old != nil {
            growthStep()
        } else if (header.pointee.count + 1) * 8 > capacity * 5 {
            startGrowth()
        } else if duePreparation(adding: 1) {
            prepare()
        }
    }

    /// Ensures `n` more inserts fit with no growth step between them, doing the growth
    /// work of `n` calls to `reserveOne` now (a batch reserves once instead of once per
    /// event). The table inserts go to never passes 3/4 load: a growth that could not
    /// finish in time (small tables, large `n`) is finished here.
    func reserve(_ n: Int) {
        if duePreparation(adding: n) { prepare() }
        // While the provisioner is still faulting in the next table, let it finish before
        // inserts and migration touch that table (two threads faulting the same pages
        // contend), as long as the current table stays under 3/4 load.
        if header.pointee.next != nil, header.pointee.nextTicket != 0,
            (header.pointee.count + n) * 4 <= capacity * 3
        {
            if let provisioner = header.pointee.provisioner, !provisioner.isDone(header.pointee.nextTicket) { return }
            header.pointee.nextTicket = 0
        }
        for _ in 0..<n {
            if header.pointee.next != nil || header.pointee.old != nil {
                growthStep()
            } else if (header.pointee.count + n) * 8 > capacity * 5 {
                startGrowth()
            } else {
                break
            }
        }
        while (header.pointee.count + n) * 4 > capacity * 3 {
            if header.pointee.next == nil && header.pointee.old == nil { startGrowth() }
            finishGrowth()
        }
    }

    /// Inserts `ref` at the empty slot returned by a `find` for the same id.
    @inline(__always)
    func insert(ref: UInt32, at probe: Probe) {
        assert(probe.ref == nil && probe.slot >= 0 && probe.slot < capacity, "not an insert probe")
        assert(header.pointee.slots[probe.slot] == 0, "the probe's slot was taken since its find")
        assert(ref != .max, "ref + 1 must fit in 32 bits")
        assert((header.pointee.count + 1) * 4 <= capacity * 3, "past 3/4 load: reserve before inserting")
        header.pointee.slots[probe.slot] = UInt64(probe.tag) << 32 | UInt64(ref &+ 1)
        header.pointee.count += 1
    }

    /// Inserts an id known to be absent.
    func insertNew(_ id: UInt128, ref: UInt32) {
        assert(ref != .max, "ref + 1 must fit in 32 bits")
        reserveOne()
        Self.place(UInt64(tag(id)) << 32 | UInt64(ref &+ 1), in: header.pointee.slots, header.pointee.capacityLog2)
        header.pointee.count += 1
    }

    /// Puts a slot value at the first empty slot of its run.
    @inline(__always)
    private static func place(_ value: UInt64, in slots: UnsafeMutablePointer<UInt64>, _ log2: Int) {
        let mask = (1 << log2) - 1
        var i = home(UInt32(truncatingIfNeeded: value >> 32), log2)
        assert(value != 0, "0 marks an empty slot")
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = value
    }

    /// Removes `id` (present), shifting later entries of its run back. Rare (the undo of a
    /// failed linked chain): a growth in progress is finished first.
    func remove<Source: IdSource>(_ id: UInt128, in source: Source) {
        finishGrowth()
        let probe = find(id, in: source)
        precondition(probe.ref != nil, "removing an id that is not indexed")
        let t = probe.tag
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        let mask = (1 << log2) - 1
        // The slot holding it: the probe above returns the insert slot only when absent.
        var hole = Self.home(t, log2)
        while true {
            let s = slots[hole]
            if UInt32(truncatingIfNeeded: s >> 32) == t, UInt32(truncatingIfNeeded: s) &- 1 == probe.ref { break }
            hole = (hole &+ 1) & mask
        }
        var j = hole
        while true {
            j = (j &+ 1) & mask
            let s = slots[j]
            if s == 0 { break }
            let h = Self.home(UInt32(truncatingIfNeeded: s >> 32), log2)
            // Move `s` into the hole unless its home lies cyclically in (hole, j].
            if (j &- h) & mask >= (j &- hole) & mask {
                slots[hole] = s
                hole = j
            }
        }
        slots[hole] = 0
        header.pointee.count -= 1
    }

    /// Allocates the next growth's table and hands it to the provisioner.
    private func prepare() {
        assert(header.pointee.prepared == nil && header.pointee.next == nil && header.pointee.old == nil)
        let bytes = capacity * 2 * MemoryLayout<UInt64>.stride
        let table = LargeAllocation.allocate(UInt64.self, count: capacity * 2)
        header.pointee.growths += 1
        header.pointee.prepared = table
        header.pointee.preparedTicket = header.pointee.provisioner?.populate(
            UnsafeMutableRawPointer(table), bytes: bytes, urgent: false) ?? 0
    }

    private func startGrowth() {
        header.pointee.nextZeroed = 0
        if header.pointee.prepared == nil { header.pointee.growths += 1 }
        if let prepared = header.pointee.prepared {
            header.pointee.next = prepared
            header.pointee.nextTicket = header.pointee.preparedTicket
            header.pointee.prepared = nil
            header.pointee.preparedTicket = 0
        } else {
            let next = LargeAllocation.allocate(UInt64.self, count: capacity * 2)
            header.pointee.next = next
            let bytes = capacity * 2 * MemoryLayout<UInt64>.stride
            header.pointee.nextTicket = 0
            if let provisioner = header.pointee.provisioner, bytes >= LargeAllocation.hugePageSize {
                header.pointee.nextTicket = provisioner.populate(UnsafeMutableRawPointer(next), bytes: bytes, urgent: false)
            }
        }
        growthStep()
    }

    /// One step of phase 1 or phase 2.
    private func growthStep() {
        if let next = header.pointee.next {
            let total = capacity * 2
            let from = header.pointee.nextZeroed
            let n = min(Self.zeroStep, total - from)
            (next + from).initialize(repeating: 0, count: n)
            header.pointee.nextZeroed = from + n
            // Safety: never let the current table pass 3/4 load while zeroing.
            if from + n < total, (header.pointee.count + 1) * 4 > capacity * 3 {
                (next + from + n).initialize(repeating: 0, count: total - from - n)
                header.pointee.nextZeroed = total
            }
            if header.pointee.nextZeroed == total {
                header.pointee.old = header.pointee.slots
                header.pointee.oldLog2 = header.pointee.capacityLog2
                header.pointee.migrated = 0
                header.pointee.slots = next
                header.pointee.capacityLog2 += 1
                header.pointee.next = nil
            }
            return
        }
        guard let old = header.pointee.old else { return }
        let oldCapacity = 1 << header.pointee.oldLog2
        let from = header.pointee.migrated
        let to = min(from + Self.migrateStep, oldCapacity)
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        for k in from..<to where old[k] != 0 { Self.place(old[k], in: slots, log2) }
        header.pointee.migrated = to
        if to == oldCapacity {
            release(old, count: oldCapacity)
            header.pointee.old = nil
        }
    }

    /// Makes the table big enough for `total` entries (at most 5/8 load) at once, so they
    /// go in with no growth and no next table prepared ahead: a start-up step
    /// (`Ledger.reserveCapacity`), not for the hot path, as it moves every entry.
    /// - Parameter faultIn: given a new table's memory before it is zeroed, to fault it in
    ///   (on several threads, say); the zeroing then writes to pages already there.
    /// - Returns: the bytes of the new table (0: the table was big enough).
    @discardableResult
    func ensureCapacity(_ total: Int, faultIn: (UnsafeMutableRawBufferPointer) -> Void = { _ in }) -> Int {
        precondition(total >= 0, "negative capacity")
        finishGrowth()
        if let prepared = header.pointee.prepared {
            // Sized for the current table's growth; the table may now grow by more.
            release(prepared, count: capacity * 2)
            header.pointee.prepared = nil
            header.pointee.preparedTicket = 0
        }
        header.pointee.reserved = max(header.pointee.reserved, total)
        let log2 = max(header.pointee.capacityLog2, Self.capacityLog2(for: total))
        let oldLog2 = header.pointee.capacityLog2
        guard log2 > oldLog2 else { return 0 }
        let slots = LargeAllocation.allocate(UInt64.self, count: 1 << log2)
        let bytes = (1 << log2) * MemoryLayout<UInt64>.stride
        faultIn(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(slots), count: bytes))
        slots.initialize(repeating: 0, count: 1 << log2)
        let old = header.pointee.slots
        for k in 0..<(1 << oldLog2) where old[k] != 0 { Self.place(old[k], in: slots, log2) }
        header.pointee.slots = slots
        header.pointee.capacityLog2 = log2
        release(old, count: 1 << oldLog2)
        return bytes
    }

    /// The log2 of the slots a table needs to hold `total` entries at most at 5/8 load
    /// (16 slots at least).
    static func capacityLog2(for total: Int) -> Int {
        var log2 = 4
        while (1 << log2) * 5 / 8 < total { log2 += 1 }
        return log2
    }

    /// Completes a growth in progress at once.
    private func finishGrowth() {
        while header.pointee.next != nil || header.pointee.old != nil { growthStep() }
    }
}

/// The one owner of an `IdIndex`'s slots: not copyable, so they are freed exactly once,
/// when it goes away. `index` is its view, valid while the owner lives.
struct OwnedIdIndex: ~Copyable {
    let index: IdIndex

    /// As `IdIndex.init(seed:minimumCapacity:provisioner:)`.
    init(seed: UInt64, minimumCapacity: Int = 0, provisioner: (any MemoryProvisioning)? = nil) {
        index = IdIndex(seed: seed, minimumCapacity: minimumCapacity, provisioner: provisioner)
    }

    deinit { index.deallocate() }
}
