import CKaminoSys

/// Faults in, at start-up and on every usable CPU, memory a ledger set aside for the
/// transfers it expects (`Ledger.reserveCapacity`), so that the run that follows takes no
/// page fault for it: on these VMs the host provides fresh pages slowly (0.2-0.3 µs per
/// transfer's worth when paid during a run, `docs/benchmarks.md`).
///
/// Unlike `MemoryProvisioner`, which faults by touch so as not to hold the memory map lock
/// while batches are applied, this uses `madvise(MADV_POPULATE_WRITE)` (a touch per page
/// where the kernel lacks it): nothing else runs yet. It changes no byte.
package enum StartupFaultIn {
    /// Blocks are cut into pieces of this size (a huge page), shared out among the threads.
    static let pieceBytes = 2 << 20

    /// Faults in `blocks` on `threads` threads (default: the CPUs this process may use) and
    /// waits for them. Returns the threads used.
    @discardableResult
    package static func faultIn(_ blocks: [UnsafeMutableRawBufferPointer], threads: Int? = nil) -> Int {
        var starts: [UnsafeMutableRawPointer?] = []
        var lengths: [Int] = []
        for block in blocks {
            guard let base = block.baseAddress else { continue }
            var offset = 0
            while offset < block.count {
                let n = min(pieceBytes, block.count - offset)
                starts.append(base + offset)
                lengths.append(n)
                offset += n
            }
        }
        guard !starts.isEmpty else { return 0 }
        let workers = max(1, threads ?? Int(kamino_usable_cpus()))
        return starts.withUnsafeBufferPointer { s in
            lengths.withUnsafeBufferPointer { l in
                Int(kamino_fault_in(s.baseAddress, l.baseAddress, s.count, Int32(min(workers, 64))))
            }
        }
    }
}
