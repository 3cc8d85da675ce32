import BenchSupport
import Foundation
import LedgerCore
import LedgerStorage

// Usage: core-footprint [TRANSFERS] [ACCOUNTS] [two-phase] [no-prefault] [presize] [warm-memory]
// Applies TRANSFERS single-phase (or two-phase) transfers over ACCOUNTS (10k) accounts in batches of
// 8189 on one thread, then prints apply throughput and memory per stored transfer. `no-prefault`
// turns off the background thread that faults in the memory the ledger writes next; `presize`
// sizes the transfer id index for TRANSFERS up front (`Ledger(expectedTransfers:)`), so it never grows.
// `warm-memory` first faults in and frees as much memory as the run will use: these VMs hand
// memory a process frees back to the host, so a fresh process's first touch of each page costs a
// host fault (about 0.5 GB/s here, against 6 GB/s for pages the VM already holds); warming measures
// the ledger rather than the hypervisor. Both ways are reported in docs/benchmarks.md.
let arguments = CommandLine.arguments
let total = arguments.count > 1 ? Int(arguments[1]) ?? 10_000_000 : 10_000_000
let twoPhase = arguments.contains("two-phase")
let prefault = !arguments.contains("no-prefault")

func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// CPU time of this thread: unlike wall time, it does not count time other processes took.
func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

if arguments.contains("warm-memory") {
    let bytes = (total * 200 + (512 << 20)) & ~((2 << 20) - 1)
    if let region = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), region != MAP_FAILED {
        _ = madvise(region, bytes, MADV_HUGEPAGE)
        _ = madvise(region, bytes, 23)  // MADV_POPULATE_WRITE
        munmap(region, bytes)
    }
}
let rssBefore = residentBytes()
let accountCount = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
let workload = CoreWorkload(
    accounts: accountCount, expectedTransfers: arguments.contains("presize") ? total : 0, prefaultMemory: prefault)
let provisionerBefore = MemoryProvisioner.shared.cpuNanoseconds
var applied = 0
var created = 0
var applyNanos: UInt64 = 0
var applyCPUNanos: UInt64 = 0
var batchNanos: [UInt64] = []
while applied < total {
    let batch = twoPhase ? workload.twoPhaseBatch() : workload.singlePhaseBatch()
    let start = DispatchTime.now().uptimeNanoseconds
    let cpuStart = threadCPUNanos()
    created += workload.apply(batch)
    applyCPUNanos += threadCPUNanos() - cpuStart
    let elapsed = DispatchTime.now().uptimeNanoseconds - start
    applyNanos += elapsed
    batchNanos.append(elapsed)
    applied += batch.count
}
let rssAfter = residentBytes()
batchNanos.sort()
let usage = workload.ledger.memoryUsage
let n = Double(workload.ledger.transferCount)
print("mode: \(twoPhase ? "two-phase" : "single-phase"), events applied: \(applied), created: \(created)")
print(String(format: "apply throughput: %.2f M transfers/s by wall clock, %.2f M/s by thread CPU time (one core, apply only)",
             Double(applied) / (Double(applyNanos) / 1e9) / 1e6, Double(applied) / (Double(applyCPUNanos) / 1e9) / 1e6))
let provisionerNanos = MemoryProvisioner.shared.cpuNanoseconds - provisionerBefore
print(String(format: "memory provisioning thread (prefault %@): %.1f ns CPU per transfer, %.0f%% of the apply thread's CPU",
             prefault ? "on" : "off", Double(provisionerNanos) / Double(applied),
             100 * Double(provisionerNanos) / Double(max(applyCPUNanos, 1))))
print(String(format: "batch apply time: p10 %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
             Double(batchNanos[batchNanos.count / 10]) / 1e6, Double(batchNanos[batchNanos.count / 2]) / 1e6, Double(batchNanos[batchNanos.count * 99 / 100]) / 1e6,
             Double(batchNanos.last ?? 0) / 1e6))
print(String(format: "ledger structures: %.1f bytes per stored transfer (transfers %.1f, id index %.1f, account lists %.1f, statuses %.1f)",
             Double(usage.total - usage.accounts) / n, Double(usage.transfers) / n, Double(usage.transferIndex) / n,
             Double(usage.accountTransferLists) / n, Double(usage.pendingStatuses) / n))
print(String(format: "process RSS growth: %.1f bytes per stored transfer (RSS %.0f MiB)",
             Double(rssAfter - rssBefore) / n, Double(rssAfter) / 1_048_576))
print("digest: \(workload.ledger.digest())")
if let before = mallocCalls() {
    let ids = workload.randomAccountIds(LedgerLimits.batchMax)
    let transferIds = workload.randomTransferIds(LedgerLimits.batchMax)
    let batch = workload.singlePhaseBatch()
    let b0 = mallocCalls() ?? 0
    let foundAccounts = workload.ledger.lookupAccounts(ids).count
    let b1 = mallocCalls() ?? 0
    let foundTransfers = workload.ledger.lookupTransfers(transferIds).count
    let b2 = mallocCalls() ?? 0
    workload.apply(batch)
    let b3 = mallocCalls() ?? 0
    print("mallocs per 8189-event call: lookup_accounts \(b1 - b0), lookup_transfers \(b2 - b1), create_transfers \(b3 - b2) (setup \(b0 - before); found \(foundAccounts) accounts, \(foundTransfers) transfers)")
}
