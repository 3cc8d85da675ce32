/// The ids of one batch that a directory partition indexes, with the first event that
/// carries each: finds duplicate ids and posts of pending transfers created earlier in
/// the same batch. Slots hold only an event index and a generation (8 bytes, so the table
/// stays in cache); ids are compared against the batch's events. Cleared in O(1) per
/// batch by the generation counter.
final class BatchIdTable {
    private struct Slot {
        var event: Int32 = 0
        var generation: UInt32 = 0
    }

    private static let capacityLog2 = 14  // 16384 slots >= 2 x LedgerLimits.batchMax
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
    func insert(_ id: UInt128, event: Int, in events: UnsafeBufferPointer<Transfer>) -> Int? {
        let mask = (1 << Self.capacityLog2) - 1
        let generation = self.generation
        var i = home(id)
        while slots[i].generation == generation {
            let k = Int(slots[i].event)
            if events[k].id == id { return k }
            i = (i + 1) & mask
        }
        slots[i] = Slot(event: Int32(truncatingIfNeeded: event), generation: generation)
        return nil
    }

    /// The first event with this id, if any.
    @inline(__always)
    func find(_ id: UInt128, in events: UnsafeBufferPointer<Transfer>) -> Int? {
        let mask = (1 << Self.capacityLog2) - 1
        let generation = self.generation
        var i = home(id)
        while slots[i].generation == generation {
            let k = Int(slots[i].event)
            if events[k].id == id { return k }
            i = (i + 1) & mask
        }
        return nil
    }
}
