#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import LedgerCore
package import LedgerEngine
import LedgerStorage
import LedgerWire
import CoreMetrics
package import Prometheus
import Synchronization

/// The server's metrics: recorded through swift-metrics (`Counter`, `Meter`, `Timer`,
/// `Recorder`) on handlers from a swift-prometheus `PrometheusCollectorRegistry`, which
/// renders them with `# HELP` and `# TYPE` lines. Labelled series (per operation, status,
/// error code) are made on first use and kept.
package final class ServerMetrics: Sendable {
    typealias MetricCounter = CoreMetrics.Counter
    typealias MetricMeter = CoreMetrics.Meter
    typealias MetricTimer = CoreMetrics.Timer
    typealias MetricRecorder = CoreMetrics.Recorder

    /// The registry the metrics endpoint renders.
    package let registry = PrometheusCollectorRegistry()

    let connectionsAccepted: MetricCounter
    let connectionsOpen: MetricMeter
    let requestsStarted: MetricCounter
    let repliesSent: MetricCounter
    let errorReplies: MetricCounter
    let busyReplies: MetricCounter
    let badFrames: MetricCounter
    let eventsCreated: MetricCounter
    private let bytesReceived: MetricCounter
    private let bytesSent: MetricCounter
    private let inFlight: MetricMeter
    private let logGroupRecords: MetricRecorder
    private let logGroupBytes: MetricRecorder
    private let logWriteDuration: MetricTimer
    private let durableLSN: MetricMeter
    private let appliedLSN: MetricMeter
    private let logAvailable: MetricMeter
    /// Log write failures (each starts an episode of `log_unavailable` writes).
    private let logFailures: MetricCounter
    private let snapshotDuration: MetricTimer
    private let snapshotBytes: MetricMeter
    private let snapshotAge: MetricMeter
    private let snapshotsFailed: MetricCounter
    private let recoverySeconds: MetricMeter
    private let capacityTransfers: MetricMeter
    private let capacityBytes: MetricMeter
    private let residentBytes: MetricMeter
    private let openDescriptors: MetricMeter
    private let lastSnapshot = Mutex<Double?>(nil)

    /// `kamino_request_duration_seconds`, recorded without a lock (see `RequestDurations`).
    private let requestDurations = RequestDurations(buckets: ServerMetrics.latencyBuckets)
    /// `kamino_results_total`, counted without a lock (see `ResultCounts`).
    private let results = ResultCounts()
    private let errorCodes = Mutex<[UInt16: MetricCounter]>([:])

    /// Request latency buckets: 50 us to 10 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
    ]

    package init(version: String = "unknown", commit: String = "unknown") {
        let r = registry
        func counter(_ name: String, _ help: String) -> MetricCounter {
            MetricCounter(label: name, dimensions: [], handler: r.makeCounter(descriptor: Self.describe(name, help)))
        }
        func meter(_ name: String, _ help: String) -> MetricMeter {
            MetricMeter(label: name, dimensions: [], handler: r.makeGauge(descriptor: Self.describe(name, help)))
        }
        connectionsAccepted = counter("kamino_connections_accepted_total", "Client connections accepted since start.")
        connectionsOpen = meter("kamino_connections_open", "Client connections open now.")
        requestsStarted = counter("kamino_requests_total", "Requests decoded and started (refused ones not counted).")
        repliesSent = counter("kamino_replies_total", "Successful replies sent.")
        errorReplies = counter("kamino_error_replies_all_total", "Error replies sent, all codes together.")
        busyReplies = counter("kamino_busy_replies_total", "Requests refused with busy.")
        badFrames = counter("kamino_bad_frames_total", "Frames the decoder rejected.")
        eventsCreated = counter("kamino_events_created_total", "Events of create requests made durable.")
        bytesReceived = counter("kamino_received_bytes_total", "Bytes received from clients.")
        bytesSent = counter("kamino_sent_bytes_total", "Bytes of replies written to clients.")
        inFlight = meter("kamino_requests_in_flight", "Requests accepted and not yet answered.")
        logGroupRecords = MetricRecorder(
            label: "kamino_log_group_commit_records", dimensions: [], aggregate: true,
            handler: r.makeValueHistogram(descriptor: Self.describe("kamino_log_group_commit_records", "Log records made durable by one write + fdatasync (group commit size)."), buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]))
        logGroupBytes = MetricRecorder(
            label: "kamino_log_group_commit_bytes", dimensions: [], aggregate: true,
            handler: r.makeValueHistogram(descriptor: Self.describe("kamino_log_group_commit_bytes", "Bytes made durable by one write + fdatasync."), buckets: [4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216]))
        logWriteDuration = MetricTimer(
            label: "kamino_log_write_fdatasync_seconds", dimensions: [],
            handler: r.makeDurationHistogram(descriptor: Self.describe("kamino_log_write_fdatasync_seconds", "Latency of one log write + fdatasync chain (io_uring)."), buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                          .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                          .milliseconds(50), .milliseconds(250), .seconds(1)]))
        durableLSN = meter("kamino_log_durable_lsn", "Highest LSN durable in the log.")
        appliedLSN = meter("kamino_log_logged_lsn", "Highest LSN logged and applied (or being applied) in memory.")
        logAvailable = meter("kamino_log_writable", "1 while the log accepts writes; 0 from a log failure (disk full, I/O error) until writes resume by themselves.")
        logFailures = counter("kamino_log_failures_total", "Log write failures (disk full, file size limit, I/O error); writes answer log_unavailable until the log writes again.")
        snapshotDuration = MetricTimer(
            label: "kamino_snapshot_write_seconds", dimensions: [],
            handler: r.makeDurationHistogram(descriptor: Self.describe("kamino_snapshot_write_seconds", "Time to write one snapshot file once its LSN was durable."), buckets: [.milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(5),
                          .seconds(30), .seconds(120)]))
        snapshotBytes = meter("kamino_snapshot_size_bytes", "Content size of the newest snapshot written.")
        snapshotAge = meter("kamino_snapshot_age_seconds", "Seconds since the newest snapshot was written (-1: none yet).")
        snapshotsFailed = counter("kamino_snapshot_failures_total", "Snapshots that failed (the log still holds every batch).")
        recoverySeconds = meter("kamino_recovery_seconds", "Seconds the start-up recovery took.")
        capacityTransfers = meter("kamino_capacity_reserved_transfers",
                                  "Transfers the ledger's memory was set aside for at start-up (expected_transfers; 0: none).")
        capacityBytes = meter("kamino_capacity_reserved_bytes",
                              "Bytes set aside and faulted in at start-up for expected_transfers.")
        residentBytes = meter("process_resident_memory_bytes", "Resident memory size in bytes.")
        openDescriptors = meter("process_open_fds", "Number of open file descriptors.")
        let info = r.makeGauge(descriptor: Self.describe("kamino_build_info", "Build information; the value is always 1."),
                               labels: [("version", version), ("commit", commit)])
        info.set(1.0)
    }

    /// Adds `n` to `counter`.
    static func bump(_ counter: MetricCounter, by n: Int = 1) { counter.increment(by: n) }
    /// Adds `n` (possibly negative) to `meter`.
    static func bump(_ meter: MetricMeter, by n: Int = 1) { meter.increment(by: Double(n)) }

    /// Counts bytes read from or written to clients.
    func received(_ bytes: Int) { bytesReceived.increment(by: bytes) }
    func sent(_ bytes: Int) { bytesSent.increment(by: bytes) }

    /// Records one answered request: its latency per operation and, for creates, the
    /// number of events per result status. `status` and `promote` are not timed.
    func answered(_ request: Request, reply: Message, nanoseconds: Int64) {
        let operation = request.code
        if let ledgerOperation = request.ledgerOperation {
            requestDurations.record(ledgerOperation, nanoseconds: nanoseconds)
        }
        switch reply {
        case .reply(_, .createAccounts(let r), _):
            count(r, operation: operation) { $0.status.rawValue }
        case .reply(_, .createTransfers(let r), _):
            count(r, operation: operation) { $0.status.rawValue }
        case .errorReply(let e):
            errorReply(code: e.rawCode)
        default:
            break
        }
    }

    /// Counts an error reply by its wire code.
    func errorReply(code: UInt16) {
        let counter = errorCodes.withLock { table in
            if let c = table[code] { return c }
            let name = WireError.Code(rawValue: code).map { Self.snakeCase("\($0)") } ?? "code_\(code)"
            let c = MetricCounter(label: "kamino_error_replies_total", dimensions: [("code", name)],
                            handler: registry.makeCounter(descriptor: Self.describe("kamino_error_replies_total", "Error replies sent, by code."),
                                                          labels: [("code", name)]))
            table[code] = c
            return c
        }
        counter.increment()
    }

    /// Counts `results` by status: one pass over raw status values (no string per event;
    /// a batch is up to 8189 events), then one add per distinct status.
    private func count<R>(_ results: [R], operation: UInt8, status: (R) -> UInt32) {
        guard let first = results.first else { return }
        // One status for the whole reply (a request of one event, always): no tally.
        let firstStatus = status(first)
        if results.allSatisfy({ status($0) == firstStatus }) {
            self.results.add(results.count, operation: operation, status: firstStatus)
            return
        }
        var tally: [UInt32: Int] = [:]
        var single: UInt32? = status(results[0])
        var singleCount = 0
        for r in results {
            let raw = status(r)
            if raw == single {
                singleCount += 1
            } else {
                if let s = single { tally[s, default: 0] += singleCount; single = nil }
                tally[raw, default: 0] += 1
            }
        }
        if let s = single { tally[s, default: 0] += singleCount }
        for (raw, n) in tally {
            self.results.add(n, operation: operation, status: raw)
        }
    }

    /// Records a snapshot outcome.
    package func snapshot(_ outcome: SnapshotScheduler.Outcome) {
        switch outcome {
        case .written(_, _, let seconds, let bytes):
            snapshotDuration.recordNanoseconds(Int64(seconds * 1e9))
            snapshotBytes.set(Double(bytes))
            let now = Self.monotonicSeconds()
            lastSnapshot.withLock { $0 = now }
        case .failed:
            snapshotsFailed.increment()
        }
    }

    /// Counts a log failure (`DurableLedger.onLogCondition`).
    package func logCondition(_ condition: LogCondition) {
        if case .failed = condition { logFailures.increment() }
    }

    /// Records how long recovery took.
    package func recovered(seconds: Double) { recoverySeconds.set(seconds) }

    /// Records the start-up capacity reserved for `expected_transfers` (`transfers` 0: none).
    package func reservedCapacity(transfers: Int, bytes: Int) {
        capacityTransfers.set(Double(transfers))
        capacityBytes.set(Double(bytes))
    }

    /// Sets the gauges read at scrape time, then renders everything.
    package func render(ledger: DurableLedger?, inFlight requests: Int) -> String {
        inFlight.set(Double(requests))
        if let ledger {
            durableLSN.set(Double(ledger.durableLSN))
            appliedLSN.set(Double(ledger.loggedLSN))
        }
        logAvailable.set(ledger?.acceptsWrites ?? false ? 1.0 : 0.0)
        let age = lastSnapshot.withLock { $0 }.map { Self.monotonicSeconds() - $0 } ?? -1
        snapshotAge.set(age)
        residentBytes.set(Double(Self.residentBytes()))
        openDescriptors.set(Double(Self.openDescriptorCount()))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        requestDurations.emit(into: &buffer)
        results.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// A descriptor for the full metric name `name` with its help text.
    private static func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// `exceedsCredits` -> `exceeds_credits` (the reference's spelling of names).
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase {
                if !out.isEmpty { out.append("_") }
                out += c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Resident set size from /proc/self/statm (pages * page size).
    private static func residentBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        let fields = String(decoding: buffer.prefix(n), as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Entries of /proc/self/fd (minus the one used to list it).
    private static func openDescriptorCount() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return max(0, count - 3)  // ".", ".." and the directory's own descriptor
    }
}

/// Feeds the log's group commits into the metrics.
struct LogMetricsObserver: WALObserver {
    let metrics: ServerMetrics
    func groupCommitted(records: Int, bytes: Int, seconds: Double) {
        metrics.logGroup(records: records, bytes: bytes, seconds: seconds)
    }
}

extension ServerMetrics {
    fileprivate func logGroup(records: Int, bytes: Int, seconds: Double) {
        logGroupRecords.record(records)
        logGroupBytes.record(bytes)
        logWriteDuration.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Starts feeding `ledger`'s log group commits into these metrics.
    package func observe(_ ledger: DurableLedger) {
        ledger.observeLog(LogMetricsObserver(metrics: self))
    }
}
