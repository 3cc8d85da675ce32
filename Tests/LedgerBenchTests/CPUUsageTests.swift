import Foundation
import Glibc
import Testing
@testable import LedgerBench

/// The client's and the server's CPU per request: /proc parsing, the arithmetic, readings
/// of this very process, and where the reports show them.
@Suite struct CPUUsageTests {
    /// A real /proc/<pid>/stat line (kernel 6.1) with utime 1234 and stime 56.
    static let statLine =
        "4242 (kamino) S 1 4242 4242 0 -1 4194560 9047 0 0 0 1234 56 0 0 20 0 9 0 77120 1183223808 5937 "
        + "18446744073709551615 1 1 0 0 0 0 0 4096 17920 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

    @Test func parsesUserAndSystemTicks() throws {
        let ticks = try #require(ProcessCPU.parseStat(Self.statLine))
        #expect(ticks.userTicks == 1234)
        #expect(ticks.systemTicks == 56)
    }

    @Test func aCommandNameWithSpacesAndParenthesesDoesNotShiftTheFields() throws {
        let line = Self.statLine.replacingOccurrences(of: "(kamino)", with: "(a) b (c) d)")
        let ticks = try #require(ProcessCPU.parseStat(line))
        #expect(ticks.userTicks == 1234)
        #expect(ticks.systemTicks == 56)
    }

    @Test func malformedTextIsNil() {
        #expect(ProcessCPU.parseStat("") == nil)
        #expect(ProcessCPU.parseStat("4242 kamino S 1 2 3") == nil)  // no parenthesis
        #expect(ProcessCPU.parseStat("4242 (kamino) S 1 4242 4242 0 -1 4194560 9047 0 0 0") == nil)  // cut short
        #expect(ProcessCPU.parseStat("4242 (kamino) S 1 4242 4242 0 -1 4194560 9047 0 0 0 x 56 0") == nil)
    }

    @Test func ticksBecomeMicroseconds() {
        #expect(ProcessCPU.micros(ticks: 0, ticksPerSecond: 100) == 0)
        #expect(ProcessCPU.micros(ticks: 1, ticksPerSecond: 100) == 10_000)
        #expect(ProcessCPU.micros(ticks: 250, ticksPerSecond: 100) == 2_500_000)
        #expect(ProcessCPU.micros(ticks: 7, ticksPerSecond: 1000) == 7000)
        #expect(ProcessCPU.micros(ticks: 1, ticksPerSecond: 3) == 333_333)
        // A century of ticks at 100 Hz does not overflow.
        #expect(ProcessCPU.micros(ticks: 315_360_000_000, ticksPerSecond: 100) == 3_153_600_000_000_000)
    }

    @Test func differencesNeverGoNegative() {
        let a = CPUTime(userMicros: 100, systemMicros: 50)
        let b = CPUTime(userMicros: 350, systemMicros: 40)
        #expect(b.since(a) == CPUTime(userMicros: 250, systemMicros: 0))
        #expect(b.since(a).totalMicros == 250)
        #expect(a.since(a).totalMicros == 0)
    }

    @Test func perRequestPerTransferAndCores() throws {
        let cost = CPUCost(
            client: CPUTime(userMicros: 900_000, systemMicros: 100_000),
            server: CPUTime(userMicros: 2_000_000, systemMicros: 1_000_000), serverNote: nil,
            seconds: 2, requests: 1000, transfers: 8_000, actions: 0)
        #expect(cost.clientPerRequest == 1000)
        #expect(cost.serverPerRequest == 3000)
        #expect(cost.clientPerTransfer == 125)
        #expect(cost.serverPerTransfer == 375)
        #expect(cost.clientPerAction == nil)
        #expect(cost.clientCores == 0.5)
        #expect(cost.serverCores == 1.5)
        #expect(cost.serverNote == nil)

        let unknown = CPUCost(client: CPUTime(userMicros: 10, systemMicros: 0), server: nil, serverNote: "external",
                              seconds: 0, requests: 0, transfers: 0, actions: 5)
        #expect(unknown.serverPerRequest == nil)
        #expect(unknown.clientPerRequest == nil)  // no request: no per-request figure
        #expect(unknown.clientPerAction == 2)
        #expect(unknown.clientCores == nil)  // no time measured
        #expect(unknown.serverNote == "external")
    }

    /// Burns 0.3 s of CPU in this process (as `getrusage` counts it): /proc/self/stat sees it too.
    @Test func thisProcessReadsTheSameThroughBothSources() throws {
        let rusage0 = ProcessCPU.current()
        let proc0 = try #require(ProcessCPU.of(pid: getpid()))
        var x: UInt64 = 1
        let deadline = monotonicNanos() + 30_000_000_000
        while ProcessCPU.current().since(rusage0).totalMicros < 300_000 && monotonicNanos() < deadline {
            for _ in 0..<100_000 { x = x &* 6_364_136_223_846_793_005 &+ 1 }
        }
        #expect(x != 1)
        let spentRusage = ProcessCPU.current().since(rusage0).totalMicros
        let spentProc = try #require(ProcessCPU.of(pid: getpid())).since(proc0).totalMicros
        #expect(spentRusage >= 300_000)
        // Clock ticks (10 ms at 100 Hz) at each end; other tests' threads count in both.
        #expect(spentProc + 30_000 >= 300_000)
        #expect(ProcessCPU.of(pid: 0) == nil)
    }

    @Test func aWatchOverAChildProcessSeesItsCPU() throws {
        // A real other process: `sh` spinning until killed.
        var pid = pid_t()
        let argv = ["/bin/sh", "-c", "while :; do :; done"]
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        try #require(posix_spawn(&pid, argv[0], nil, nil, &cArgs, environ) == 0)
        let watch = CPUWatch(serverPid: pid, whyNoServer: "unused")
        // A loaded machine may give it little CPU: wait (up to 20 s) for 50 ms of it.
        var spent = watch.finish()
        let deadline = monotonicNanos() + 20_000_000_000
        while (spent.server?.totalMicros ?? 0) < 50_000 && monotonicNanos() < deadline {
            usleep(20_000)
            spent = watch.finish()
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let server = try #require(spent.server)
        #expect(server.totalMicros >= 50_000)
        #expect(spent.note == nil)
        // Gone (reaped): the watch says so instead of a number.
        let after = watch.finish()
        #expect(after.server == nil)
        #expect(after.note?.contains("gone") == true)

        let external = CPUWatch(serverPid: nil, whyNoServer: "external server").finish()
        #expect(external.server == nil)
        #expect(external.note == "external server")
    }

    @Test func reportsShowBothSides() throws {
        var report = sampleReport()
        report.cpu = CPUCost(
            client: CPUTime(userMicros: 400_000, systemMicros: 100_000),
            server: CPUTime(userMicros: 1_500_000, systemMicros: 500_000), serverNote: nil,
            seconds: 5, requests: 1000, transfers: 4_094_500, actions: 0)
        let table = TableReport.render(report)
        #expect(table.contains("cpu per request: client 500.0 µs, server 2,000 µs\n"))
        #expect(table.contains("cpu per transfer: client 0.12 µs, server 0.49 µs\n"))
        #expect(table.contains("cpu busy: client 0.10 cores, server 0.40 cores\n"))

        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(JSONReport.document(report).render().utf8)) as? [String: Any])
        let cpu = try #require(root["cpu"] as? [String: Any])
        #expect(cpu["client_us_per_request"] as? Double == 500)
        #expect(cpu["server_us_per_request"] as? Double == 2000)
        #expect(cpu["requests"] as? Int == 1000)
        #expect((cpu["server"] as? [String: Any])?["total_us"] as? Int == 2_000_000)

        report.cpu = CPUCost(client: CPUTime(userMicros: 1000, systemMicros: 0), server: nil,
                             serverNote: "external server: pass --server-pid to measure its CPU",
                             seconds: 1, requests: 10, transfers: 10, actions: 0)
        let external = TableReport.render(report)
        #expect(external.contains("cpu per request: client 100.0 µs, server n/a\n"))
        #expect(external.contains("(server: external server: pass --server-pid to measure its CPU)"))
        let root2 = try #require(
            try JSONSerialization.jsonObject(with: Data(JSONReport.document(report).render().utf8)) as? [String: Any])
        let cpu2 = try #require(root2["cpu"] as? [String: Any])
        #expect(cpu2["server_us_per_request"] is NSNull)
        #expect(cpu2["server"] is NSNull)
    }

    @Test func serverPidNeedsAnAddress() {
        var c = BenchConfiguration()
        c.serverPid = 4242
        #expect(throws: BenchError.self) { try c.validate() }
        c.address = "127.0.0.1:3000"
        #expect(throws: Never.self) { try c.validate() }
        c.serverPid = 0
        #expect(throws: BenchError.self) { try c.validate() }
    }
}
