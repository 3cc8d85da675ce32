/// Something that faults in memory a ledger will write soon, ahead of the thread that
/// writes it, so that thread does not stop while the kernel provides fresh pages.
///
/// `LedgerCore` does no IO and starts no thread: a ledger created without one (the
/// default) takes its page faults itself. The process's implementation lives on the IO
/// side (`LedgerStorage.MemoryProvisioner`) and is passed in where ledgers are created for
/// the server and the benchmarks.
///
/// Contract: an implementation may change page tables only. It never reads or writes the
/// memory, so it cannot race with the owner writing there, and no result of a ledger may
/// depend on whether or when it ran. A request it cannot serve is dropped.
public protocol MemoryProvisioning: AnyObject, Sendable {
    /// Asks for `bytes` at `start` to be faulted in soon. Never blocks on the work.
    /// - Parameter urgent: serve it before every non-urgent request.
    /// - Returns: a ticket for `isDone` (non-urgent requests; 0 for urgent ones).
    func populate(_ start: UnsafeMutableRawPointer, bytes: Int, urgent: Bool) -> UInt64

    /// True once the request with this ticket was carried out (or dropped).
    func isDone(_ ticket: UInt64) -> Bool

    /// Drops pending requests inside `bytes` at `start` and waits for one in progress
    /// there. The owner calls it before freeing memory it passed to `populate`.
    func cancel(_ start: UnsafeMutableRawPointer, bytes: Int)
}
