/// An open-addressing hash index from a 128-bit id to a 31-bit reference into an external,
/// append-only store (the store holds the ids; the index holds 8 bytes per slot).
///
/// Each slot packs `(tag << 32) | (ref + 1)`, 0 meaning empty. `tag` is the top 32 bits of
/// the id's hash and the home slot is the top bits of `tag`, so the index can grow without
/// reading a single record. Linear probing; deletion by backward shift, so removals (the
/// undo of a failed linked chain) leave the index exactly as valid as before.
///
/// Results never depend on the layout of this index, only speed does, which is why it may
/// be seeded per process against hash flooding.
final class IdIndex {
    private var slots: UnsafeMutablePointer<UInt64>
    private var capacityLog2: Int
    private(set) var count: Int = 0
    private let seed: UInt64

    private var capacity: Int { 1 << capacityLog2 }
    private var mask: Int { capacity - 1 }

    init(seed: UInt64, minimumCapacity: Int = 0) {
        self.seed = seed
        var log2 = 4
        while (1 << log2) * 3 / 4 < minimumCapacity { log2 += 1 }
        capacityLog2 = log2
        slots = .allocate(capacity: 1 << log2)
        slots.initialize(repeating: 0, count: 1 << log2)
    }

    deinit { slots.deallocate() }

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
    private func home(_ tag: UInt32) -> Int {
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

    /// Finds `id`; `idOf` returns the id stored under a reference.
    @inline(__always)
    func find(_ id: UInt128, idOf: (UInt32) -> UInt128) -> Probe {
        let t = tag(id)
        var i = home(t)
        let m = mask
        while true {
            let s = slots[i]
            if s == 0 { return Probe(ref: nil, slot: i, tag: t) }
            if UInt32(truncatingIfNeeded: s >> 32) == t {
                let ref = UInt32(truncatingIfNeeded: s) &- 1
                if idOf(ref) == id { return Probe(ref: ref, slot: i, tag: t) }
            }
            i = (i &+ 1) & m
        }
    }

    /// Ensures one more insert cannot trigger growth, so a probe's `slot` stays valid.
    /// Call before `find` when the caller may then `insert`.
    @inline(__always)
    func reserveOne() {
        if (count + 1) * 4 > capacity * 3 { grow() }
    }

    /// Inserts `ref` at the empty slot returned by a `find` for the same id.
    @inline(__always)
    func insert(ref: UInt32, at probe: Probe) {
        slots[probe.slot] = UInt64(probe.tag) << 32 | UInt64(ref &+ 1)
        count += 1
    }

    /// Inserts an id known to be absent.
    func insertNew(_ id: UInt128, ref: UInt32) {
        reserveOne()
        let t = tag(id)
        var i = home(t)
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = UInt64(t) << 32 | UInt64(ref &+ 1)
        count += 1
    }

    /// Removes the entry at `slot` (found by `find`), shifting later entries of its run back.
    func remove(at slot: Int) {
        var hole = slot
        var j = slot
        let m = mask
        while true {
            j = (j &+ 1) & m
            let s = slots[j]
            if s == 0 { break }
            let h = home(UInt32(truncatingIfNeeded: s >> 32))
            // Move `s` into the hole unless its home lies cyclically in (hole, j].
            let distanceToHome = (j &- h) & m
            let distanceToHole = (j &- hole) & m
            if distanceToHome >= distanceToHole {
                slots[hole] = s
                hole = j
            }
        }
        slots[hole] = 0
        count -= 1
    }

    private func grow() {
        let oldSlots = slots
        let oldCapacity = capacity
        capacityLog2 += 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        let m = mask
        for k in 0..<oldCapacity {
            let s = oldSlots[k]
            if s == 0 { continue }
            var i = home(UInt32(truncatingIfNeeded: s >> 32))
            while slots[i] != 0 { i = (i &+ 1) & m }
            slots[i] = s
        }
        oldSlots.deallocate()
    }
}
