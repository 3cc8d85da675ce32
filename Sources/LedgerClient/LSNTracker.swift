import Synchronization

/// The highest `state_lsn` of every reply a client has received.
final class LSNTracker: Sendable {
    private let highest = Atomic<UInt64>(0)

    /// The highest LSN seen so far (0 before any reply).
    var value: UInt64 { highest.load(ordering: .acquiring) }

    /// Records a reply's LSN.
    func observe(_ lsn: UInt64) {
        var current = highest.load(ordering: .relaxed)
        while lsn > current {
            let (exchanged, original) = highest.compareExchange(
                expected: current, desired: lsn, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// True when a reply reflecting `lsn` is at most `maxLag` batches behind the highest
    /// LSN seen.
    func isFresh(_ lsn: UInt64, maxLag: UInt64) -> Bool {
        let seen = value
        return seen <= maxLag || lsn >= seen - maxLag
    }
}
