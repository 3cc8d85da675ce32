import LedgerServer
import Testing

/// The capacity refusal's memory limit: physical memory, or a lower cgroup limit.
@Suite struct MemoryLimitTests {
    @Test func limitFilesForCgroupV1AndV2() {
        let v1 = "4:memory:/process_api/abc\n3:cpuset:/\n0::/\n"
        #expect(MemoryLimit.cgroupLimitFiles(cgroups: v1, root: "/sys/fs/cgroup") == [
            "/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory.max",
        ])
        let v2 = "0::/system.slice/kamino.service\n"
        #expect(MemoryLimit.cgroupLimitFiles(cgroups: v2, root: "/c") == [
            "/c/system.slice/kamino.service/memory.max", "/c/memory.max",
        ])
        #expect(MemoryLimit.cgroupLimitFiles(cgroups: "7:cpu,cpuacct:/x\ngarbage\n", root: "/c").isEmpty)
    }

    @Test func theLowestLimitWins() {
        let gib = 1 << 30
        #expect(MemoryLimit.lowest(physical: 8 * gib, limits: []) == MemoryLimit(bytes: 8 * gib, source: "this machine's memory"))
        // v2 "max" and v1's "unlimited" (above physical memory) set nothing.
        let none = MemoryLimit.lowest(physical: 8 * gib, limits: [("a", "max\n"), ("b", "9223372036854771712\n"), ("c", "")])
        #expect(none?.bytes == 8 * gib)
        let limited = MemoryLimit.lowest(physical: 8 * gib, limits: [("a", "\(4 * gib)\n"), ("b", "\(2 * gib)\n")])
        #expect(limited == MemoryLimit(bytes: 2 * gib, source: "the cgroup limit (b)"))
        #expect(MemoryLimit.lowest(physical: 0, limits: [("a", "0\n")]) == nil)
    }

    @Test func thisProcessHasALimit() throws {
        let limit = try #require(MemoryLimit.current())
        #expect(limit.bytes > 0)
    }
}
