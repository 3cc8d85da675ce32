/// Something that faults in memory a ledger will write soon, ahead of the thread that
/// writes it, so that thread does not stop while the kernel provides fresh pages.
///
/// `LedgerCore` does no IO and starts no thread: a ledger created without one (the
/// default) takes its page faults itself. The process's implementation lives on the IO
/// side (`LedgerStorage.MemoryProvisioner`) and is passed in where ledgers are created for
/// the server and the benchmarks.
///
/// Contract: an implementation faults pages in, and maps and unmaps blocks it hands over
/// or is handed (`takeBlock`, `free`). It never changes what the memory holds (a fault-in
/// may touch a page with a write that leaves every byte as it was, even while the owner
/// writes there), and no result of a ledger may depend on whether or when it ran. It may
/// touch memory of a request until the owner withdraws it (`cancel`), which the owner
/// does before freeing that memory. A request it cannot serve is dropped.
///
/// Why it maps and unmaps blocks too: mapping, unmapping and `madvise(MADV_HUGEPAGE)` take
/// the process's memory map lock for writing, and waited on the thread applying batches
/// whenever something held it for reading: `madvise(MADV_POPULATE_WRITE)` did, for as long
/// as the host took to provide a huge page (7 ms typical, up to 58 ms on these VMs;
/// `docs/benchmarks.md`, "Session 11").
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

    /// A block of `bytes` (a multiple of the huge page size) that the provisioner mapped
    /// as `LargeAllocation.allocate` does and faulted in, now the caller's (freed with
    /// `LargeAllocation.deallocate`); nil when none is ready, and the caller allocates its
    /// own. The first call for a size starts a small stock of such blocks, refilled ahead
    /// from then on.
    func takeBlock(bytes: Int) -> UnsafeMutableRawPointer?

    /// Frees a block from `LargeAllocation.allocate` (or `takeBlock`) of `bytes` on the
    /// provisioner's thread, after any fault-in of it. False: it did not take the block,
    /// and the caller frees it.
    func free(_ block: UnsafeMutableRawPointer, bytes: Int) -> Bool
}

extension MemoryProvisioning {
    /// No stock by default.
    public func takeBlock(bytes: Int) -> UnsafeMutableRawPointer? { nil }
    /// Never takes a block by default.
    public func free(_ block: UnsafeMutableRawPointer, bytes: Int) -> Bool { false }
}
