/// A min-heap of pending transfers with a timeout, ordered by (expiry time, transfer ref).
///
/// Entries of transfers that were posted or voided stay until they reach the top and are
/// then skipped: the heap order is total, so expiry is deterministic.
struct ExpiryQueue {
    struct Entry: Comparable {
        var expiresAt: UInt64
        var ref: UInt32
        static func < (a: Entry, b: Entry) -> Bool {
            (a.expiresAt, a.ref) < (b.expiresAt, b.ref)
        }
    }

    private(set) var heap: ContiguousArray<Entry> = []

    var count: Int { heap.count }
    var first: Entry? { heap.first }

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[i] < heap[parent] {
                heap.swapAt(i, parent)
                i = parent
            } else {
                break
            }
        }
    }

    mutating func popFirst() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var smallest = i
                if l < heap.count, heap[l] < heap[smallest] { smallest = l }
                if r < heap.count, heap[r] < heap[smallest] { smallest = r }
                if smallest == i { break }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        assert(heap.first.map { !($0 < top) } ?? true, "heap order broken")
        return top
    }
}
