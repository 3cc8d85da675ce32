import Synchronization

/// The earliest deadline (ns since the epoch) of a transfer still pending in the state,
/// as of the last applied batch, and the wake-up of the one thread that waits for it
/// (`PulseScheduler`).
///
/// The sequencer publishes after every batch it applies (two atomic operations; the
/// wake-up only when the deadline moved before the one the waiter sleeps toward), so a
/// new pending transfer due sooner wakes the waiter at once and nothing else costs a
/// lock.
package final class ExpiryWatch: Sendable {
    /// The deadline published last; `.max`: nothing pending has a timeout.
    private let next: Atomic<UInt64>
    /// The deadline the waiter last armed for (`.max`: none, it sleeps until woken).
    private let armed = Atomic<UInt64>(.max)
    /// Set once a waiter took the watch: there is only one.
    private let claimed = Atomic<Bool>(false)
    /// Wakes the waiter: an earlier deadline, or its owner stopping it.
    package let wakeup = TimedWakeup()

    package init(_ deadline: UInt64?) {
        next = Atomic(deadline ?? .max)
    }

    /// The earliest pending deadline as of the last applied batch (nil: none).
    package var deadline: UInt64? {
        let value = next.load(ordering: .sequentiallyConsistent)
        return value == .max ? nil : value
    }

    /// Records the deadline after a batch applied; wakes the waiter when it is earlier
    /// than the one it sleeps toward. Called by the sequencer, one batch at a time.
    package func publish(_ deadline: UInt64?) {
        let value = deadline ?? .max
        next.store(value, ordering: .sequentiallyConsistent)
        if value < armed.load(ordering: .sequentiallyConsistent) { wakeup.signal() }
    }

    /// The deadline the waiter is about to sleep toward (nil: none); from now on a
    /// publish of an earlier one wakes it. A publish racing with this call either is
    /// seen here (the loop reads again) or sees the armed value and signals.
    package func arm() -> UInt64? {
        while true {
            let value = next.load(ordering: .sequentiallyConsistent)
            armed.store(value, ordering: .sequentiallyConsistent)
            if next.load(ordering: .sequentiallyConsistent) == value { return value == .max ? nil : value }
        }
    }

    /// Makes the caller the watch's one waiter; false when another took it first.
    package func claimWaiter() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}
