/// Something that faults in memory a ledger will write soon, ahead of the thread that
/// writes it, so that thread does not stop while the kernel provides fresh pages.
///
/// `LedgerCore` does no IO and starts no thread: a ledger created without one (the
/// default) takes its page faults itself. The process's implementation lives on the IO
/// side (`LedgerStorage.MemoryProvisioner`) and is passed in where ledgers are created for
/// the server and the benchmarks.
///
/// Contract: an implementation may change page tables only, and map and unmap blocks it
/// hands over or is handed (`takeBlock`, `free`). It never reads or writes the memory, so
/// it cannot race with the owner writing there, and no result of a ledger may depend on
/// whether or when it ran. A request it cannot serve is dropped.
///
/// Why blocks are mapped and unmapped by the provisioner too: mapping, unmapping and
/// `madvise(MADV_HUGEPAGE)` take the process's memory map lock for writing, and a fault-in
/// in progress holds it for reading for as long as the kernel takes to provide the piece
/// (one huge page: 7 ms typical, up to 58 ms, on these VMs when the host hands out fresh
/// memory). An owner that mapped its next chunk itself waited that long, in the middle of
/// applying a batch (`docs/benchmarks.md`, "Session 11").
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
