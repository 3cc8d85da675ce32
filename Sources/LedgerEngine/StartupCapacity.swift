package import LedgerCore
import LedgerStorage

/// The memory `expected_transfers` set aside at start-up, and what it took: the ledger's
/// stores that grow per transfer, reserved for the expected count and faulted in on every
/// usable CPU before the server says `listening on` (`Ledger.reserveCapacity`), so the run
/// pays no page fault for their growth up to that count, as TigerBeetle allocates all its
/// memory at start.
package struct StartupCapacity: Sendable, Equatable {
    /// What the ledger reserved (the transfer count, the bytes added now).
    package let reservation: CapacityReservation
    /// Seconds the reservation took, faulting in included.
    package let seconds: Double
    /// Threads that faulted the memory in (0: nothing to fault in).
    package let threads: Int

    /// Reserves `transfers` transfers' worth in `ledger` and faults it in, on the calling
    /// thread and one more per other usable CPU. Start-up only: it blocks until done.
    package static func reserve(_ ledger: Ledger, transfers: Int) -> StartupCapacity {
        let began = monotonicNow()
        var threads = 0
        let reservation = ledger.reserveCapacity(transfers: transfers) { blocks in
            threads = max(threads, StartupFaultIn.faultIn(blocks))
        }
        return StartupCapacity(reservation: reservation, seconds: monotonicNow() - began, threads: threads)
    }
}
