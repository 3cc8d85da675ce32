/// The ids of one batch that a directory partition indexes, with the first event that
/// carries each: finds duplicate ids and posts of pending transfers created earlier in
/// the same batch. Cleared in O(1) per batch by a generation counter.
final class BatchIdTable {
    private struct Slot {
        var id: UInt128 = 0
        var event: Int32 = 0
        var generation: UInt32 = 0
    }

    private static let capacityLog2 = 15  // 32768 slots >= 4 x LedgerLimits.batchMax
    private let slots: UnsafeMutablePointer<Slot>
    private var generation: UInt32 = 0

    init() {
        slots = .allocate(capacity: 1 << Self.capacityLog2)
        slots.initialize(repeating: Slot(), count: 1 << Self.capacityLog2)
    }

    deinit { slots.deallocate() }

    /// Forgets every id (starts a new batch).
    func reset() {
        generation &+= 1
        if generation == 0 {
            slots.update(repeating: Slot(), count: 1 << Self.capacityLog2)
            generation = 1
        }
    }

    @inline(__always)
    private func home(_ id: UInt128) -> Int {
        let h = ShardRouting.hash(id, salt: 0x3C6E_F372_FE94_F82B)
        return Int(truncatingIfNeeded: h >> UInt64(64 - Self.capacityLog2))
    }

    /// Adds `id` for `event`; returns the earlier event with this id, if any.
    @inline(__always)
    func insert(_ id: UInt128, event: Int) -> Int? {
        let mask = (1 << Self.capacityLog2) - 1
        var i = home(id)
        while slots[i].generation == generation {
            if slots[i].id == id { return Int(slots[i].event) }
            i = (i + 1) & mask
        }
        slots[i] = Slot(id: id, event: Int32(truncatingIfNeeded: event), generation: generation)
        return nil
    }

    /// The first event with this id, if any.
    @inline(__always)
    func find(_ id: UInt128) -> Int? {
        let mask = (1 << Self.capacityLog2) - 1
        var i = home(id)
        while slots[i].generation == generation {
            if slots[i].id == id { return Int(slots[i].event) }
            i = (i + 1) & mask
        }
        return nil
    }
}
