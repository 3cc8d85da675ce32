/// The requests of one connection that wait for their replies, by request id.
///
/// A connection hands out ids in increasing order, so the table is a ring of slots for
/// the ids from the oldest one still waiting to the newest: adding, finding and removing
/// one is an index computation (a hash table hashed every id twice per request). A reply
/// that comes before an older request's leaves a hole until the older ones are settled;
/// ids skipped (a request that could not be encoded) are holes too.
struct PendingTable<Value> {
    /// The ring; its count is zero or a power of two. Slots outside the span are empty.
    private var slots: [Value?] = []
    /// The ring index of `firstId`'s slot.
    private var head = 0
    /// The id of the first slot of the span.
    private var firstId: UInt64 = 0
    /// Slots in use from `head`, holes included: ids `firstId ..< firstId + span`.
    private var span = 0
    /// The values held (the span's slots that are not holes).
    private(set) var count = 0

    /// Rings larger than this are let go when the table empties.
    private static var keptCapacity: Int { 1024 }

    var isEmpty: Bool { count == 0 }

    /// Adds `value` under `id`, which is higher than every id added before.
    mutating func insert(_ value: Value, id: UInt64) {
        if span == 0 {
            firstId = id
        }
        precondition(id >= firstId + UInt64(span), "request ids are added in increasing order")
        let newSpan = Int(id - firstId) + 1
        if newSpan > slots.count { grow(to: newSpan) }
        let mask = slots.count - 1
        let i = (head + newSpan - 1) & mask
        assert(slots[i] == nil, "slots outside the span are empty")
        slots[i] = value
        span = newSpan
        count += 1
    }

    /// Removes and returns the value under `id`; nil when there is none (never added,
    /// or removed already).
    mutating func remove(_ id: UInt64) -> Value? {
        guard id >= firstId, id - firstId < UInt64(span) else { return nil }
        let mask = slots.count - 1
        let i = (head + Int(id - firstId)) & mask
        guard let value = slots[i] else { return nil }
        slots[i] = nil
        count -= 1
        // Drop the holes at the front, so that the span starts at the oldest waiting id.
        while span > 0, slots[head] == nil {
            head = (head + 1) & mask
            firstId += 1
            span -= 1
        }
        assert(span > 0 || count == 0, "an empty span holds nothing")
        if count == 0 && slots.count > Self.keptCapacity { self = PendingTable() }
        return value
    }

    /// Every id and value, in increasing order of id.
    func visitInOrder(_ body: (UInt64, Value) -> Void) {
        guard span > 0 else { return }
        let mask = slots.count - 1
        for k in 0..<span {
            if let value = slots[(head + k) & mask] { body(firstId + UInt64(k), value) }
        }
    }

    /// Removes every value and returns them in increasing order of id.
    mutating func removeAll() -> [Value] {
        var all: [Value] = []
        all.reserveCapacity(count)
        visitInOrder { _, value in all.append(value) }
        assert(all.count == count, "count is the number of values held")
        self = PendingTable()
        return all
    }

    /// Makes the ring hold at least `needed` slots, the span's first at index 0.
    private mutating func grow(to needed: Int) {
        var capacity = max(16, slots.count)
        while capacity < needed { capacity *= 2 }
        var bigger = [Value?](repeating: nil, count: capacity)
        if span > 0 {
            let mask = slots.count - 1
            for k in 0..<span { bigger[k] = slots[(head + k) & mask] }
        }
        slots = bigger
        head = 0
    }
}
