package import Glibc

/// CPU time of one process, user and system, in microseconds.
package struct CPUTime: Sendable, Equatable {
    package var userMicros: UInt64
    package var systemMicros: UInt64

    package init(userMicros: UInt64, systemMicros: UInt64) {
        self.userMicros = userMicros
        self.systemMicros = systemMicros
    }

    package var totalMicros: UInt64 { userMicros + systemMicros }

    /// The CPU time spent from `earlier` to this reading. The counters only grow; a
    /// component that went backwards (it cannot, for the same process) counts as 0.
    package func since(_ earlier: CPUTime) -> CPUTime {
        CPUTime(
            userMicros: userMicros >= earlier.userMicros ? userMicros - earlier.userMicros : 0,
            systemMicros: systemMicros >= earlier.systemMicros ? systemMicros - earlier.systemMicros : 0)
    }
}

/// Reads the CPU time of processes: this one through `getrusage(RUSAGE_SELF)` (the bench
/// client; a server it started is a child and is not included), another through
/// `/proc/<pid>/stat` (utime + stime: all its threads, the live and the exited ones).
package enum ProcessCPU {
    /// `utime` and `stime` (fields 14 and 15, clock ticks) of a `/proc/<pid>/stat` line;
    /// nil when the text is not one. The command name (field 2) is in parentheses and may
    /// itself hold spaces and `)`, so the fields are counted from the last `)`.
    package static func parseStat(_ text: String) -> (userTicks: UInt64, systemTicks: UInt64)? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // Fields 3... follow ") "; utime is field 14, the 12th after the parenthesis.
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return (user, system)
    }

    /// Clock ticks as microseconds (`ticksPerSecond` is `sysconf(_SC_CLK_TCK)`, usually 100).
    package static func micros(ticks: UInt64, ticksPerSecond: Int) -> UInt64 {
        precondition(ticksPerSecond > 0, "a clock tick rate is positive")
        let rate = UInt64(ticksPerSecond)
        // Whole seconds first, so a long-lived process's ticks cannot overflow the product.
        return ticks / rate * 1_000_000 + ticks % rate * 1_000_000 / rate
    }

    /// The CPU time of process `pid` so far, or nil when `/proc/<pid>/stat` cannot be read
    /// (no such process, or not ours to see). Resolution: one clock tick (10 ms at 100 Hz).
    package static func of(pid: pid_t) -> CPUTime? {
        guard let ticks = parseStat(SystemProbe.readSmallFile("/proc/\(pid)/stat")) else { return nil }
        let rate = max(1, sysconf(Int32(_SC_CLK_TCK)))
        return CPUTime(userMicros: micros(ticks: ticks.userTicks, ticksPerSecond: rate),
                       systemMicros: micros(ticks: ticks.systemTicks, ticksPerSecond: rate))
    }

    /// This process's CPU time so far, all threads (microsecond resolution).
    package static func current() -> CPUTime {
        var usage = rusage()
        let rc = getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        precondition(rc == 0, "getrusage(RUSAGE_SELF) cannot fail with a valid pointer")
        func micros(_ t: timeval) -> UInt64 { UInt64(max(0, t.tv_sec)) * 1_000_000 + UInt64(max(0, t.tv_usec)) }
        return CPUTime(userMicros: micros(usage.ru_utime), systemMicros: micros(usage.ru_stime))
    }
}

/// The CPU readings at the start of the measured phase, to subtract at its end.
package struct CPUWatch: Sendable {
    /// The server process watched; nil: its CPU is not known.
    package let serverPid: pid_t?
    private let client: CPUTime
    private let server: CPUTime?
    private let note: String?

    /// Reads both now. `serverPid` nil: `whyNoServer` says why the server's CPU is not known.
    package init(serverPid: pid_t?, whyNoServer: String) {
        self.serverPid = serverPid
        client = ProcessCPU.current()
        if let serverPid {
            server = ProcessCPU.of(pid: serverPid)
            note = server == nil ? "cannot read /proc/\(serverPid)/stat" : nil
        } else {
            server = nil
            note = whyNoServer
        }
    }

    /// The CPU each process spent since `init`; `note` says why `server` is nil.
    package func finish() -> (client: CPUTime, server: CPUTime?, note: String?) {
        let clientSpent = ProcessCPU.current().since(client)
        guard let serverPid, let server else { return (clientSpent, nil, note) }
        guard let now = ProcessCPU.of(pid: serverPid) else {
            return (clientSpent, nil, "the server (pid \(serverPid)) was gone at the end of the run")
        }
        return (clientSpent, now.since(server), nil)
    }
}

/// CPU the bench client (this process) and the server spent over the measured phase, and
/// the cost per request, per transfer created (per event in the transfers mix) and per bank
/// action. Shows whether the load generator or the server is the bottleneck.
package struct CPUCost: Sendable {
    package var client: CPUTime
    /// Nil when unknown: an external server without `--server-pid`, or /proc unreadable.
    package var server: CPUTime?
    /// Why `server` is nil.
    package var serverNote: String?
    /// Length of the measured phase, seconds.
    package var seconds: Double
    /// Protocol requests sent in the phase (failed ones too).
    package var requests: Int
    /// Transfers created in the phase.
    package var transfers: Int
    /// Bank actions in the phase (0 in the transfers mix).
    package var actions: Int

    package init(client: CPUTime, server: CPUTime?, serverNote: String?, seconds: Double, requests: Int,
                 transfers: Int, actions: Int) {
        precondition(requests >= 0 && transfers >= 0 && actions >= 0, "counts are never negative")
        self.client = client
        self.server = server
        self.serverNote = server == nil ? (serverNote ?? "unknown") : nil
        self.seconds = seconds
        self.requests = requests
        self.transfers = transfers
        self.actions = actions
    }

    /// Microseconds of CPU per unit; nil when no unit was counted.
    package static func per(_ time: CPUTime?, _ units: Int) -> Double? {
        guard let time, units > 0 else { return nil }
        return Double(time.totalMicros) / Double(units)
    }

    /// Cores kept busy on average: CPU seconds over wall seconds; nil for an empty phase.
    package static func cores(_ time: CPUTime?, seconds: Double) -> Double? {
        guard let time, seconds > 0 else { return nil }
        return Double(time.totalMicros) / 1e6 / seconds
    }

    package var clientPerRequest: Double? { Self.per(client, requests) }
    package var serverPerRequest: Double? { Self.per(server, requests) }
    package var clientPerTransfer: Double? { Self.per(client, transfers) }
    package var serverPerTransfer: Double? { Self.per(server, transfers) }
    package var clientPerAction: Double? { Self.per(client, actions) }
    package var serverPerAction: Double? { Self.per(server, actions) }
    package var clientCores: Double? { Self.cores(client, seconds: seconds) }
    package var serverCores: Double? { Self.cores(server, seconds: seconds) }
}
