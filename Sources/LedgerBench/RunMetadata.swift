import Glibc

/// When, with which build and where a run ran: the JSON's `run` object.
package struct RunMetadata: Sendable {
    /// The bench started (before its server and the setup).
    package var startedAt: WallClock.Instant
    /// The measured phase began.
    package var measuredAt: WallClock.Instant
    /// The report was assembled.
    package var endedAt: WallClock.Instant
    /// `kamino --version`'s version and git commit.
    package var version: String
    package var commit: String
    /// The command line as typed.
    package var commandLine: [String]
    package var host: HostInfo

    package init(
        startedAt: WallClock.Instant, measuredAt: WallClock.Instant, endedAt: WallClock.Instant, version: String,
        commit: String, commandLine: [String], host: HostInfo
    ) {
        self.startedAt = startedAt
        self.measuredAt = measuredAt
        self.endedAt = endedAt
        self.version = version
        self.commit = commit
        self.commandLine = commandLine
        self.host = host
    }
}

/// The machine's name and kernel, and the processors this process may use.
package struct HostInfo: Sendable {
    package var hostname: String
    package var kernel: String
    /// Processors this process may run on (what `nproc` prints).
    package var nproc: Int
    /// Online processors and physical memory.
    package var machine: MachineInfo

    package static func current() -> HostInfo {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
        var u = utsname()
        var kernel = "unknown"
        if uname(&u) == 0 {
            let sys = withUnsafeBytes(of: u.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let rel = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            kernel = sys + " " + rel
        }
        let machine = SystemProbe.machine()
        return HostInfo(hostname: host, kernel: kernel, nproc: usableProcessors() ?? machine.cores, machine: machine)
    }

    /// The processors in this process's affinity mask (`Cpus_allowed` of /proc/self/status,
    /// what `nproc` counts), or nil.
    static func usableProcessors() -> Int? {
        let status = SystemProbe.readSmallFile("/proc/self/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        return allowedCount(String(line.dropFirst("Cpus_allowed:".count)))
    }

    /// The bits set in a `Cpus_allowed` hex mask such as `ff,ffffffff`; nil when not one.
    static func allowedCount(_ mask: String) -> Int? {
        var n = 0
        for ch in mask where ch != "," && ch != " " && ch != "\t" {
            guard let digit = ch.hexDigitValue else { return nil }
            n += digit.nonzeroBitCount
        }
        return n > 0 ? n : nil
    }
}

/// Wall-clock time (UTC), for the report's timestamps.
package enum WallClock {
    /// Seconds and nanoseconds since the Unix epoch.
    package struct Instant: Sendable, Equatable {
        package var seconds: Int
        package var nanoseconds: Int

        package init(seconds: Int, nanoseconds: Int) {
            precondition((0..<1_000_000_000).contains(nanoseconds), "nanoseconds within a second")
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        /// ISO 8601 in UTC with milliseconds: `2026-12-07T08:45:03.120Z`.
        package var iso8601: String {
            var t = time_t(seconds)
            var parts = tm()
            guard gmtime_r(&t, &parts) != nil else { return "\(seconds)" }
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            let millis = nanoseconds / 1_000_000
            let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
            return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
                + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
        }
    }

    package static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Instant(seconds: Int(ts.tv_sec), nanoseconds: Int(ts.tv_nsec))
    }
}
