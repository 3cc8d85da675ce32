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
    package var scenario: BenchScenario = .smoke
    package var mix: BenchMix = .transfers
    /// Pool accounts (users in the bank mix). Default 10,000.
    package var accounts: Int = 10_000
    /// Stop after this many transfers (transfers mix); nil: run for the scenario's time.
    package var transfers: Int?
    /// Scenario length in seconds (scales its stages); nil: the scenario's default.
    package var duration: Double?
    /// Transfers per `create_transfers` request (transfers mix). Default 8189.
    package var batchSize: Int = 8189
    /// Client connections. Default: 1 (transfers, as TigerBeetle's benchmark), 16 (bank).
    package var connections: Int?
    /// Concurrent requests in flight at the scenario's base level. Default: 1 (transfers:
    /// one 8189-event batch at a time, TigerBeetle's benchmark shape, measured faster here
    /// than 2 or 4 in flight), 64 (bank).
    package var inFlight: Int?
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
        guard (1...8189).contains(batchSize) else { throw bad("--batch-size must be 1...8189") }
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

    /// The connection count in effect.
    package var effectiveConnections: Int { connections ?? (mix == .transfers ? 1 : 16) }
    /// The base concurrency in effect.
    package var effectiveInFlight: Int { inFlight ?? (mix == .transfers ? 1 : 64) }
    /// The breakpoint p99 limit in effect, microseconds.
    package var effectiveMaxP99Micros: UInt64 {
        UInt64((maxP99Millis ?? (mix == .transfers ? 100 : 20)) * 1000)
    }

    /// The plan this configuration runs. With `--transfers` and no `--duration`, a
    /// steady scenario runs until the count is reached (at most an hour).
    package func plan() -> ScenarioPlan {
        var duration = self.duration
        if transfers != nil, duration == nil, scenario == .smoke || scenario == .load || scenario == .soak {
            duration = 3600
        }
        var base = effectiveInFlight
        if scenario == .smoke, inFlight == nil { base = min(2, base) }
        var plan = ScenarioPlan.make(scenario, workers: base, duration: duration, maxP99Micros: effectiveMaxP99Micros)
        if scenario == .smoke, inFlight != nil { plan.stages = plan.stages.map { Stage(seconds: $0.seconds, workers: base) } }
        plan.maxWorkers = max(plan.maxWorkers, plan.stages.map(\.workers).max() ?? 1)
        return plan
    }
}
