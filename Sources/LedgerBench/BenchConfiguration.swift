package import LedgerClient

/// How the server the bench starts replicates to its followers (`kamino serve --replication`).
package enum BenchReplication: String, Sendable, CaseIterable {
    /// Acknowledge after the primary's own fsync.
    case async
    /// Acknowledge once the batch is durable on the primary and on one follower.
    case sync
}

/// Everything one `kamino bench` run needs to know. Built from the command line by
/// `kamino` (Sources/kamino/Bench.swift); `resolved()` fills the defaults that depend
/// on the mix and the scenario.
package struct BenchConfiguration: Sendable {
    package var scenario: BenchScenario = .throughput
    package var mix: BenchMix = .transfers
    /// Pool accounts (users in the bank mix). Default 10,000.
    package var accounts: Int = 10_000
    /// Stop after this many transfers (transfers mix); nil: run for the scenario's time.
    package var transfers: Int?
    /// Scenario length in seconds (scales its stages); nil: the scenario's default.
    package var duration: Double?
    /// Transfers per `create_transfers` request (transfers mix); nil: 8189, or 100 in the
    /// smoke scenario.
    package var batchSize: Int?
    /// Client connections. Default: 1 (transfers, as TigerBeetle's benchmark), 16 (bank).
    package var connections: Int?
    /// Concurrent requests in flight at the scenario's base level. Default: 1 (transfers:
    /// one 8189-event batch at a time, TigerBeetle's benchmark shape, measured faster here
    /// than 2 or 4 in flight), 64 (bank). In the open model: the most requests in flight
    /// (default 64); a request due while all are busy is sent late.
    package var inFlight: Int?
    /// Open model: requests per second (`--rate N/s`), sent at fixed intended times; with
    /// custom stages, the rate they start from. Nil: closed model, or 10/s in smoke.
    package var rate: Double?
    /// Custom stages (`--stages`), replacing the scenario's shape.
    package var stages: StageSpec?
    /// Rules that decide the exit status (`--threshold`).
    package var thresholds: [Threshold] = []
    package var distribution: AccountDistribution = .uniform
    /// Share of two-phase transfers (pending + post/void).
    package var twoPhase: Double = 0
    /// Share of transfers in linked chains.
    package var linked: Double = 0
    package var seed: UInt64 = 1
    /// A running server to drive; nil: start one.
    package var address: String?
    /// TLS to the server at `address` (nil: plaintext).
    package var tls: KaminoTLSOptions?
    /// The process id of the server at `address`, to report its CPU per request; nil: not
    /// reported (the bench knows the pid of a server it starts itself).
    package var serverPid: Int32?
    /// Breakpoint: the p99 limit in milliseconds. Default: 100 (transfers), 20 (bank).
    package var maxP99Millis: Double?
    /// Retries per request after `busy`, timeouts or lost connections (0: report at once).
    package var retries: Int = 0
    /// Request timeout in seconds.
    package var requestTimeout: Double = 30
    /// Followers (`kamino follow`) the bench starts next to its own server, 0...4.
    package var followers: Int = 0
    /// The replication mode of the server the bench starts; nil: no replication.
    package var replication: BenchReplication?

    package init() {}

    /// Checks ranges; returns the first problem.
    package func validate() throws(BenchError) {
        func bad(_ m: String) -> BenchError { BenchError(.invalidOption, m) }
        guard accounts >= 2, accounts <= 50_000_000 else { throw bad("--accounts must be 2...50000000") }
        if let b = batchSize, !(1...8189).contains(b) { throw bad("--batch-size must be 1...8189") }
        if let r = rate, !(r > 0 && r <= 10_000_000) { throw bad("--rate must be in (0, 10000000] requests per second") }
        if isOpenModel, scenario == .breakpoint, stages == nil {
            throw bad("--rate: the breakpoint scenario ramps concurrency (closed model); use --stages with N/s targets")
        }
        if let stages {
            if duration != nil { throw bad("--stages give the run's length; not with --duration") }
            if stages.rates || rate != nil {
                guard (rate ?? 0) > 0 || stages.steps.contains(where: { $0.target > 0 }) else {
                    throw bad("--stages: every rate is 0, nothing would be sent")
                }
            } else if !stages.steps.contains(where: { $0.target >= 1 }) {
                throw bad("--stages: every target is 0 workers, nothing would be sent")
            }
        }
        if let t = transfers, t < 1 { throw bad("--transfers must be positive") }
        if let d = duration, !(d > 0 && d <= 86_400) { throw bad("--duration must be in (0, 86400] seconds") }
        if let c = connections, !(1...4096).contains(c) { throw bad("--connections must be 1...4096") }
        if let f = inFlight, !(1...4096).contains(f) { throw bad("--in-flight must be 1...4096") }
        guard (0...1).contains(twoPhase) else { throw bad("--two-phase must be a fraction in [0, 1]") }
        guard (0...1).contains(linked) else { throw bad("--linked must be a fraction in [0, 1]") }
        guard twoPhase + linked <= 1 else { throw bad("--two-phase plus --linked must be at most 1") }
        if let p = maxP99Millis, !(p > 0) { throw bad("--max-p99-ms must be positive") }
        guard (0...100).contains(retries) else { throw bad("--retries must be 0...100") }
        guard requestTimeout > 0 else { throw bad("--request-timeout must be positive") }
        guard (0...4).contains(followers) else { throw bad("--followers must be 0...4") }
        if address != nil, followers > 0 || replication != nil {
            throw bad("--followers and --replication configure the servers the bench starts; not with --address")
        }
        if let pid = serverPid {
            guard address != nil else { throw bad("--server-pid is for a server given by --address") }
            guard pid > 0 else { throw bad("--server-pid must be a positive process id") }
        }
        if followers > 0, replication == nil { throw bad("--followers needs --replication sync or async") }
        if replication == .sync, followers == 0 {
            throw bad("--replication sync needs --followers 1...4 (without a follower no write is acknowledged)")
        }
    }

    /// The batch size in effect.
    package var effectiveBatchSize: Int { batchSize ?? (scenario == .smoke && stages == nil ? 100 : 8189) }
    /// True for the open model (arrival rate): `--rate`, rate stages, or the smoke scenario.
    package var isOpenModel: Bool {
        if let stages { return stages.rates || rate != nil }
        return rate != nil || scenario == .smoke
    }
    /// The scenario's name in reports: `custom` for `--stages`.
    package var scenarioName: String { stages == nil ? scenario.rawValue : "custom" }

    /// The connection count in effect.
    package var effectiveConnections: Int { connections ?? (mix == .transfers ? 1 : 16) }
    /// The base concurrency in effect (closed model), or the cap on requests in flight
    /// (open model, default 64).
    package var effectiveInFlight: Int { inFlight ?? (isOpenModel || mix == .bank ? 64 : 1) }
    /// The breakpoint p99 limit in effect, microseconds.
    package var effectiveMaxP99Micros: UInt64 {
        UInt64((maxP99Millis ?? (mix == .transfers ? 100 : 20)) * 1000)
    }

    /// The plan this configuration runs. With `--transfers` and no `--duration`, a
    /// steady scenario runs until the count is reached (at most an hour).
    package func plan() -> ScenarioPlan {
        if let stages { return customPlan(stages) }
        var duration = self.duration
        if transfers != nil, duration == nil, [.throughput, .load, .soak].contains(scenario) {
            duration = 3600
        }
        let base = isOpenModel ? 1 : effectiveInFlight
        var plan = ScenarioPlan.make(scenario, workers: base, duration: duration, maxP99Micros: effectiveMaxP99Micros)
        guard isOpenModel else { return plan }
        // The scenario's levels are multiples of its base: in the open model, of the rate.
        let r = rate ?? 10
        var previous = r
        plan.arrivals = ArrivalSchedule(segments: plan.stages.map { stage in
            let level = r * Double(stage.workers) / Double(base)
            defer { previous = level }
            return .init(seconds: stage.seconds, from: stage.ramp ? previous : level, to: level)
        })
        plan.maxWorkers = effectiveInFlight
        return plan
    }

    /// The plan of `--stages`: workers ramped from `--in-flight` (default 1) in the closed
    /// model, or a rate ramped from `--rate` (default 0) in the open one.
    private func customPlan(_ spec: StageSpec) -> ScenarioPlan {
        if isOpenModel {
            var previous = rate ?? 0
            let schedule = ArrivalSchedule(segments: spec.steps.map { step in
                defer { previous = step.target }
                return .init(seconds: step.seconds, from: previous, to: step.target)
            })
            return ScenarioPlan(scenario: scenario, stages: [], breakpoint: nil, maxWorkers: effectiveInFlight,
                                arrivals: schedule)
        }
        let start = inFlight ?? 1
        let stages = spec.steps.map { Stage(seconds: $0.seconds, workers: Int($0.target), ramp: true) }
        let peak = max(start, stages.map(\.workers).max() ?? 1)
        return ScenarioPlan(scenario: scenario, stages: stages, breakpoint: nil, maxWorkers: max(1, peak),
                            startWorkers: start)
    }
}
