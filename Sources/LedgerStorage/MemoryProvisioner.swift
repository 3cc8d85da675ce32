import CKaminoSys
public import LedgerCore

#if canImport(Glibc)
import Glibc
#endif

/// Faults in memory a ledger will write soon, on a background thread, so that the thread
/// applying batches does not stop while the kernel provides and zeroes fresh pages (a
/// quarter of its time at millions of transfers on these VMs).
///
/// It faults pages in by touching them with a write that keeps every byte as it was
/// (`kamino_touch_pages`), so it cannot change what the owner writes there, and no
/// result depends on whether or when it ran; the owner withdraws a request (`cancel`)
/// before freeing its memory. It also keeps a small stock of blocks mapped and faulted in
/// ahead (`takeBlock`) and frees blocks handed to it (`free`), so that the thread applying
/// batches neither maps nor unmaps: both wait for the process's memory map lock. One
/// thread serves the whole process, started on the first request and idle on a condition
/// variable otherwise; with a single usable CPU it stays off.
///
/// `LedgerCore` defines the seam (`MemoryProvisioning`) and never starts a thread itself:
/// pass `shared` to `Ledger(memoryProvisioner:)` where a ledger is created for the server
/// or a benchmark.
public final class MemoryProvisioner: MemoryProvisioning, @unchecked Sendable {
    // @unchecked: every mutable field is read and written with `mutex` held.

    /// The process's provisioner.
    public static let shared = MemoryProvisioner()

    /// Requests are split into pieces of this size (a huge page), so `cancel` waits for at
    /// most one.
    private static let pieceBytes = 2 << 20

    private struct Piece {
        var start: UInt
        var bytes: Int
        func overlaps(_ other: Piece) -> Bool { start < other.start + UInt(other.bytes) && other.start < start + UInt(bytes) }
    }

    // Everything below is guarded by `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [Piece] = []
    private var head = 0
    /// Served before `queue`: small requests the owner needs soon (the next chunk of a
    /// store), so they never wait behind a large table.
    private var urgent: [Piece] = []
    private var busy: Piece? = nil
    private var started = false
    private var unsupported = false
    private var cpuNanos: UInt64 = 0
    /// Pieces queued so far, and pieces processed so far (dropped ones count once the
    /// queue drains): FIFO, so a request whose last piece has number `k` is done once
    /// `processed >= k`.
    private var queued: UInt64 = 0
    private var processed: UInt64 = 0
    /// Blocks mapped and faulted in ahead, by size, for `takeBlock` (addresses).
    private var stock: [Int: [UInt]] = [:]
    /// Blocks handed over to be freed here (`free`), waiting for the thread.
    private var frees: [Piece] = []

    /// How much lower than the rest of the process the thread runs (setpriority).
    static let niceness: Int32 = 10

    /// Blocks kept ready of each size asked for: 16 MiB of 2 MiB chunks, about 16 batches
    /// of 8189 transfers, so a burst of chunk fills does not drain the stock while one
    /// block takes up to tens of milliseconds to fault in.
    static let stockBlocks = 8

    private init() {
        // On a single usable CPU the thread would take its time from the thread it is
        // meant to spare (measured: half the apply rate under `taskset -c 0`): stay off.
        unsupported = Self.usableCPUs() < 2
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Asks for `bytes` at `start` to be faulted in soon. Never blocks on the work.
    /// - Parameter urgent: serve it before every non-urgent request.
    /// - Returns: a ticket for `isDone` (non-urgent requests; 0 for urgent ones).
    @discardableResult
    public func populate(_ start: UnsafeMutableRawPointer, bytes: Int, urgent isUrgent: Bool = false) -> UInt64 {
        precondition(bytes >= 0, "negative request")
        return locked {
            guard !unsupported else { return 0 }
            var offset = 0
            while offset < bytes {
                let n = min(Self.pieceBytes, bytes - offset)
                let piece = Piece(start: UInt(bitPattern: start + offset), bytes: n)
                if isUrgent {
                    urgent.append(piece)
                } else {
                    queue.append(piece)
                    queued += 1
                }
                offset += n
            }
            if !started {
                started = true
                startThread()
            }
            pthread_cond_broadcast(condition)
            return isUrgent ? 0 : queued
        }
    }

    /// Starts the serving thread now if it is not running. The thread sets its own nice
    /// value (`niceness`); still, call this from a thread of normal priority, before a
    /// lower-priority one (a follower's applier, nice 5) could make the first request and
    /// so start it.
    public func start() {
        locked {
            guard !started, !unsupported else { return }
            started = true
            startThread()
        }
    }

    /// True once the request with this ticket was carried out (or dropped).
    public func isDone(_ ticket: UInt64) -> Bool { locked { unsupported || processed >= ticket } }

    /// Drops pending requests inside `bytes` at `start` and waits for one in progress
    /// there: call it before freeing memory passed to `populate`.
    public func cancel(_ start: UnsafeMutableRawPointer, bytes: Int) {
        let range = Piece(start: UInt(bitPattern: start), bytes: bytes)
        locked {
            urgent.removeAll { $0.overlaps(range) }
            if head < queue.count {
                queue = queue[head...].filter { !$0.overlaps(range) }
                head = 0
                // Dropped pieces never count as processed ahead of earlier ones: the count
                // catches up when the queue drains.
                if queue.isEmpty && busy == nil { processed = queued }
            }
            while let piece = busy, piece.overlaps(range) { pthread_cond_wait(condition, mutex) }
        }
    }

    public func takeBlock(bytes: Int) -> UnsafeMutableRawPointer? {
        precondition(bytes > 0 && bytes % LargeAllocation.hugePageSize == 0, "blocks are whole huge pages")
        return locked {
            guard !unsupported else { return nil }
            if !started {
                started = true
                startThread()
            }
            var ready = stock[bytes] ?? []
            let block = ready.popLast()
            stock[bytes] = ready
            // The first call for a size starts its stock; every take asks for a refill.
            pthread_cond_broadcast(condition)
            return block.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
        }
    }

    public func free(_ block: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        locked {
            guard !unsupported, started else { return false }
            frees.append(Piece(start: UInt(bitPattern: block), bytes: bytes))
            pthread_cond_broadcast(condition)
            return true
        }
    }

    /// The size of a block whose stock holds fewer than `target` blocks (with `mutex`
    /// held), if any.
    private func refillSize(below target: Int = stockBlocks) -> Int? {
        stock.first { $0.value.count < target }?.key
    }

    /// CPU time the provisioning thread has used (for benchmarks to report it).
    public var cpuNanoseconds: UInt64 { locked { cpuNanos } }

    /// Starts the serving thread (called once, with `mutex` held); without one, requests
    /// are dropped from now on.
    private func startThread() {
        do throws(WALError) {
            try DedicatedThread.start {
                DedicatedThread.name("kamino-memory")
                // Below the rest of the process: on a busy core the thread applying
                // batches, the log writer and the receive path go first, and the faulting
                // fills the time they wait (for the disk, for the next request). On Linux
                // the nice value is per thread, and `who` 0 is the calling thread.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
                self.run()
            }
        } catch {
            unsupported = true
            queue = []
            head = 0
            urgent = []
            stock = [:]
        }
    }

    /// Frees the blocks handed over and refills the stock, one block at a time, with
    /// `mutex` held (released while working): a stock below half before anything queued,
    /// the rest only once the queue is empty, so a table being faulted in for the id
    /// index is not starved by the chunks' steady refills. False when there was nothing
    /// to do.
    private func serveBlocks() -> Bool {
        if !frees.isEmpty {
            let done = frees
            frees = []
            pthread_mutex_unlock(mutex)
            for block in done {
                if let p = UnsafeMutablePointer<UInt8>(bitPattern: block.start) {
                    LargeAllocation.deallocate(p, count: block.bytes)
                }
            }
            pthread_mutex_lock(mutex)
            return true
        }
        guard let bytes = refillSize(below: head == queue.count ? Self.stockBlocks : Self.stockBlocks / 2) else {
            return false
        }
        pthread_mutex_unlock(mutex)
        let before = Self.threadCPUNanos()
        let block = LargeAllocation.allocate(UInt8.self, count: bytes)
        let piece = Piece(start: UInt(bitPattern: block), bytes: bytes)
        Self.populateWrite(piece)
        let used = Self.threadCPUNanos() &- before
        pthread_mutex_lock(mutex)
        cpuNanos &+= used
        stock[bytes, default: []].append(piece.start)
        return true
    }

    private func run() {
        pthread_mutex_lock(mutex)
        while true {
            while head == queue.count && urgent.isEmpty && frees.isEmpty && refillSize() == nil {
                pthread_cond_wait(condition, mutex)
            }
            let piece: Piece
            let isUrgent = !urgent.isEmpty
            // Urgent pieces first, then frees and a low stock, then the queue, then the
            // rest of the stock (`serveBlocks`). No rest between pieces: faulting by touch
            // holds no lock the apply thread needs, and the thread runs below it.
            if !isUrgent, serveBlocks() { continue }
            if isUrgent {
                piece = urgent.removeFirst()
            } else {
                piece = queue[head]
                head += 1
                if head == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    head = 0
                }
            }
            busy = piece
            pthread_mutex_unlock(mutex)
            let before = Self.threadCPUNanos()
            Self.populateWrite(piece)
            let used = Self.threadCPUNanos() &- before
            pthread_mutex_lock(mutex)
            busy = nil
            if !isUrgent { processed += 1 }
            if head == queue.count { processed = queued }
            cpuNanos &+= used
            pthread_cond_broadcast(condition)
        }
    }

    /// Faults a piece in by touching each page (`kamino_touch_pages`: a write that keeps
    /// every byte as it was). Not `madvise(MADV_POPULATE_WRITE)`: that holds the memory
    /// map lock for reading while the kernel provides the pages (a huge page: 7 ms
    /// typical, up to 58 ms here), and the thread applying batches, whose heap grows by
    /// `mprotect` (about 800 calls a second at 1 M transfers/s), waited behind it for
    /// the lock in writing: 1.7 s of a 10 s run (`docs/benchmarks.md`, "Session 11").
    /// The owner's `cancel` before freeing is what makes touching safe: the memory is
    /// mapped for as long as a piece of it is queued or in progress.
    private static func populateWrite(_ piece: Piece) {
        guard let address = UnsafeMutableRawPointer(bitPattern: piece.start) else { return }
        kamino_touch_pages(address, piece.bytes, pageSize)
    }

    /// The page size: the touching stride.
    private static let pageSize: Int = {
        #if canImport(Glibc)
        let size = Int(sysconf(Int32(_SC_PAGESIZE)))
        return size > 0 ? size : 4096
        #else
        return 4096
        #endif
    }()

    /// CPUs this process may run on (its affinity mask).
    static func usableCPUs() -> Int { Int(kamino_usable_cpus()) }

    private static func threadCPUNanos() -> UInt64 {
        #if canImport(Glibc)
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        #else
        return 0
        #endif
    }
}
