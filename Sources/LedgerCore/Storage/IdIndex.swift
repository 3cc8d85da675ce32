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
/// A struct over that pointer (no reference counting): copies share the slots, and the
/// owner calls `deallocate()` exactly once.
struct IdIndex {
    private struct Header {
        var slots: UnsafeMutablePointer<UInt64>
        var capacityLog2: Int
        var count: Int
    }

    private let header: UnsafeMutablePointer<Header>
    private let seed: UInt64

    init(seed: UInt64, minimumCapacity: Int = 0) {
        self.seed = seed
        var log2 = 4
        while (1 << log2) * 3 / 4 < minimumCapacity { log2 += 1 }
        let slots = LargeAllocation.allocate(UInt64.self, count: 1 << log2)
        slots.initialize(repeating: 0, count: 1 << log2)
        header = .allocate(capacity: 1)
        header.initialize(to: Header(slots: slots, capacityLog2: log2, count: 0))
    }

    /// Frees the slots (the owner calls it once; no copy may be used afterwards).
    func deallocate() {
        LargeAllocation.deallocate(header.pointee.slots, count: capacity)
        header.deallocate()
    }

    var count: Int { header.pointee.count }
    private var capacity: Int { 1 << header.pointee.capacityLog2 }

    /// Bytes held by the slot array.
    var memoryBytes: Int { capacity * MemoryLayout<UInt64>.stride }

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
        Int(truncatingIfNeeded: (UInt64(tag) << 32) >> UInt64(64 - capacityLog2))
    }

    /// Where `id` is (`ref`), or where it would go (`slot`) when absent.
    struct Probe {
        /// The reference stored for the id, or nil when absent.
        var ref: UInt32?
        /// The slot holding the id, or the empty slot where it would be inserted.
        var slot: Int
        var tag: UInt32
    }

    /// Walks the probe run of `tag` from its home slot: returns the first slot whose tag
    /// matches and that `accept` confirms, or the empty slot that ends the run (ref nil).
    @inline(__always)
    private func probe(tag t: UInt32, accept: (UInt32) -> Bool) -> Probe {
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        let mask = (1 << log2) - 1
        var i = Self.home(t, log2)
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
        probe(tag: tag(id)) { source.id(at: $0) == id }
    }

    /// Starts loading the home slot of the id with this tag (a non-blocking hint) so that
    /// a later `find` hits the cache.
    @inline(__always)
    func prefetch(tag: UInt32) {
        kamino_prefetch_read(header.pointee.slots + Self.home(tag, header.pointee.capacityLog2))
    }

    /// The ref of the first slot in `id`'s probe run whose tag matches, without reading
    /// any record: right almost always (a false match needs 32 equal hash bits), so it
    /// serves to prefetch a record, never to decide anything.
    @inline(__always)
    func guessRef(tag t: UInt32) -> UInt32? {
        probe(tag: t) { _ in true }.ref
    }

    /// Ensures one more insert cannot trigger growth, so a probe's `slot` stays valid.
    /// Call before `find` when the caller may then `insert`.
    @inline(__always)
    func reserveOne() {
        if (header.pointee.count + 1) * 4 > capacity * 3 { grow() }
    }

    /// Inserts `ref` at the empty slot returned by a `find` for the same id.
    @inline(__always)
    func insert(ref: UInt32, at probe: Probe) {
        header.pointee.slots[probe.slot] = UInt64(probe.tag) << 32 | UInt64(ref &+ 1)
        header.pointee.count += 1
    }

    /// Inserts an id known to be absent.
    func insertNew(_ id: UInt128, ref: UInt32) {
        reserveOne()
        let t = tag(id)
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        let mask = (1 << log2) - 1
        var i = Self.home(t, log2)
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = UInt64(t) << 32 | UInt64(ref &+ 1)
        header.pointee.count += 1
    }

    /// Removes the entry at `slot` (found by `find`), shifting later entries of its run back.
    func remove(at slot: Int) {
        let slots = header.pointee.slots
        let log2 = header.pointee.capacityLog2
        let mask = (1 << log2) - 1
        var hole = slot
        var j = slot
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

    private func grow() {
        let oldSlots = header.pointee.slots
        let oldCapacity = capacity
        let log2 = header.pointee.capacityLog2 + 1
        let mask = (1 << log2) - 1
        let slots = LargeAllocation.allocate(UInt64.self, count: 1 << log2)
        slots.initialize(repeating: 0, count: 1 << log2)
        for k in 0..<oldCapacity {
            let s = oldSlots[k]
            if s == 0 { continue }
            var i = Self.home(UInt32(truncatingIfNeeded: s >> 32), log2)
            while slots[i] != 0 { i = (i &+ 1) & mask }
            slots[i] = s
        }
        LargeAllocation.deallocate(oldSlots, count: oldCapacity)
        header.pointee.slots = slots
        header.pointee.capacityLog2 = log2
    }
}
