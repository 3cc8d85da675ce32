import Glibc
package import LedgerClient
import LedgerCore

/// What the ticker reads each interval: the server's memory, whether it is gone, and the
/// load now (requests in flight, and the intended rate in the open model).
struct RunWatch: Sendable {
    var rss: @Sendable () -> Int?
    var serverGone: @Sendable () -> String?
    var load: @Sendable (Double) -> (inFlight: Int, rate: Double?)
}

/// Runs one benchmark: starts a server when none is given, creates the accounts, runs
/// the scenario's workers while printing progress, checks the money invariants, stops the
/// server, and returns every figure.
package struct BenchRunner: Sendable {
    package var configuration: BenchConfiguration
    /// The `kamino` binary, to start a server with.
    package var executable: String
    /// Keep the server's data here (`--data DIR`); nil: a temporary directory.
    package var keepData: String?
    /// More `kamino serve` arguments (e.g. `--shards N`).
    package var serverArguments: [String] = []
    /// Print the progress line.
    package var showProgress = true
    /// The `kamino` version and git commit, for the run's metadata.
    package var version = "unknown"
    package var commit = "unknown"
    /// The command line as typed, for the run's metadata.
    package var commandLine: [String] = []
    /// The token each client presents (`kamino bench --token`/`--token-file`); nil: none.
    package var token: KaminoToken?

    package init(configuration: BenchConfiguration, executable: String) {
        self.configuration = configuration
        self.executable = executable
    }

    package func run() async throws(BenchError) -> BenchReport {
        let config = configuration
        try config.validate()
        let startedAt = WallClock.now()
        var server: OwnServer?
        var followers: OwnFollowers?
        let address: String
        if let given = config.address {
            address = given
        } else {
            var extra = serverArguments
            if let mode = config.replication {
                extra += ["--replication", mode.rawValue, "--replication-listen", "127.0.0.1:0"]
            }
            let own = try OwnServer.start(executable: executable, keepData: keepData, extra: extra,
                                          metrics: config.followers > 0 ? "127.0.0.1:0" : "off")
            server = own
            address = own.address
            let arguments = extra.isEmpty ? "" : ", with " + extra.joined(separator: " ")
            say("server: kamino serve on \(address), data \(own.dataDirectory)\(keepData == nil ? " (temporary)" : "")\(arguments)")
            if config.followers > 0 {
                let started = try OwnFollowers.start(executable: executable, primary: own, count: config.followers)
                followers = started
                say("followers: \(TableReport.replicationLabel(config)) attached, on "
                    + started.nodes.map(\.address).joined(separator: ", "))
            }
        }
        defer {
            followers?.stop()
            server?.stop()
        }

        var options = KaminoClientOptions(
            requestTimeout: .milliseconds(Int64(config.requestTimeout * 1000)),
            retry: RetryPolicy(maxAttempts: config.retries + 1), maxBatchSize: 8189)
        options.token = token
        options.tls = config.tls
        var clients: [KaminoClient] = []
        for _ in 0..<config.effectiveConnections {
            do {
                clients.append(try KaminoClient(addresses: [address], options: options))
            } catch {
                throw BenchError(.invalidOption, "bad address \(address): \(error)")
            }
        }
        let identity = RunIdentity(seed: config.seed)
        let plan = config.plan()
        say("bench: scenario \(config.scenarioName), mix \(config.mix.rawValue), \(Format.grouped(config.accounts)) accounts, "
            + (config.mix == .transfers ? "batch \(config.effectiveBatchSize), " : "")
            + "\(clients.count) connections, " + Self.loadLabel(plan) + ", \(config.distribution.name), "
            + "seed \(config.seed), ledger \(identity.ledger)")

        let setupStart = monotonicNanos()
        let setupPosted = try await BenchSetup.run(configuration: config, identity: identity, clients: clients)
        let setupSeconds = Double(monotonicNanos() - setupStart) / 1e9
        say("setup: \(Format.grouped(config.accounts)) accounts in \(Format.fixed(setupSeconds, 2)) s")

        let recorder = Recorder(stripes: min(16, max(1, plan.maxWorkers)))
        let control = RunControl(transferLimit: config.mix == .transfers ? config.transfers : nil)
        let picker = AccountPicker(count: config.accounts, distribution: config.distribution)
        let expected: Set<String> = [.stress, .spike, .breakpoint].contains(config.scenario) && config.stages == nil
            ? ["busy"] : []
        let open = plan.arrivals.map { OpenLoop(schedule: $0, cap: plan.maxWorkers) }
        let context = WorkerContext(configuration: config, identity: identity, picker: picker, recorder: recorder,
                                    control: control, expectedErrors: expected, open: open)
        if open == nil { control.setActiveWorkers(plan.breakpoint != nil ? 1 : (plan.workers(at: 0) ?? 1)) }

        let cpuWatch = CPUWatch(
            serverPid: server?.pid ?? config.serverPid,
            whyNoServer: "external server: pass --server-pid to measure its CPU")
        let measuredAt = WallClock.now()
        let start = monotonicNanos()
        open?.begin(at: start)
        let watch = RunWatch(
            rss: { [server] in server?.residentBytes },
            serverGone: { [server] in
                guard let server, server.hasExited else { return nil }
                return "the server (pid \(server.pid)) exited during the run"
            },
            load: { [open, control] t in
                (open?.inFlight ?? control.activeWorkers, plan.arrivals?.rate(at: t))
            })
        let showProgress = self.showProgress
        let ticker = Task { await Self.tick(recorder: recorder, control: control, start: start, scenario: config.scenarioName,
                                            watch: watch, show: showProgress, requestTimeout: config.requestTimeout) }
        let controller = Task { await Self.control(plan: plan, control: control, recorder: recorder, start: start) }
        let outcomes = await withTaskGroup(of: WorkerOutcome.self) { group in
            for w in 0..<plan.maxWorkers {
                let client = clients[w % clients.count]
                group.addTask {
                    switch config.mix {
                    case .transfers: return await runTransferWorker(w, client: client, context: context)
                    case .bank: return await runBankWorker(w, client: client, context: context)
                    }
                }
            }
            var all: [WorkerOutcome] = []
            for await o in group { all.append(o) }
            return all
        }
        let duration = Double(monotonicNanos() - start) / 1e9
        let cpuSpent = cpuWatch.finish()
        control.stop()
        let breakpoint = await controller.value
        let series = await ticker.value
        // Failures in a row may stop the run before the ticker sees the own server gone:
        // name the cause first.
        var abortReason = control.abortReason
        if let why = abortReason, let gone = watch.serverGone(), !why.hasPrefix(gone) { abortReason = "\(gone); \(why)" }
        if let why = abortReason { say("stopped early: \(why)") }

        var registeredIds: [UInt128] = []
        var registeredCreated = 0
        for o in outcomes where o.registered > 0 {
            registeredCreated += o.registeredCreated
            for s in 0..<o.registered { registeredIds.append(identity.registeredAccountId(worker: o.worker, sequence: s)) }
        }
        let outcomeUnknown = outcomes.contains { $0.outcomeUnknown }
        var ids = (0..<config.accounts).map { identity.accountId($0) }
        if config.mix == .bank { ids.append(identity.fundingAccountId) }
        let required = ids.count + registeredCreated
        ids += registeredIds
        let posted = setupPosted + outcomes.reduce(0) { $0 + $1.posted }
        let pending = outcomes.reduce(0) { $0 + $1.pending }
        let invariants: InvariantOutcome
        if server?.hasExited == true {
            invariants = InvariantOutcome(ok: false, accounts: 0, checks: [
                (name: "money check ran", ok: false, detail: "the server exited during the run"),
            ])
        } else {
            do {
                invariants = try await InvariantCheck.run(
                    client: clients[0], ids: ids, expectedCount: required, ledger: identity.ledger,
                    expectedPosted: outcomeUnknown ? nil : posted, expectedPending: outcomeUnknown ? nil : pending)
            } catch {
                // A server gone mid-run: the figures are still reported, the check says why it could not run.
                invariants = InvariantOutcome(ok: false, accounts: 0, checks: [
                    (name: "money check ran", ok: false, detail: error.message),
                ])
            }
        }
        for c in clients { await c.close() }

        let (totals, transfers) = recorder.totals()
        let cpu = CPUCost(
            client: cpuSpent.client, server: cpuSpent.server, serverNote: cpuSpent.note, seconds: duration,
            requests: BenchOperation.allCases.reduce(0) { $0 + totals[Metric.operation($1).index].count },
            transfers: transfers,
            actions: BankAction.allCases.reduce(0) { $0 + totals[Metric.action($1).index].count })
        let operations = BenchOperation.allCases.compactMap { op -> MetricSummary? in
            let t = totals[Metric.operation(op).index]
            return t.count > 0 ? MetricSummary(name: op.name, totals: t, seconds: duration) : nil
        }
        let actions = BankAction.allCases.compactMap { a -> MetricSummary? in
            let t = totals[Metric.action(a).index]
            return t.count > 0 ? MetricSummary(name: a.name, totals: t, seconds: duration) : nil
        }
        let rssSamples = series.compactMap(\.serverRSSBytes)
        let memory = rssSamples.isEmpty ? nil : MemoryWatch(
            startBytes: rssSamples[0], endBytes: rssSamples[rssSamples.count - 1], maxBytes: rssSamples.max() ?? 0)
        var report = BenchReport(
            scenario: config.scenario, mix: config.mix, configuration: config, machine: SystemProbe.machine(),
            durationSeconds: duration, setupSeconds: setupSeconds, operations: operations, actions: actions,
            transfersCreated: transfers, transfersPerSecond: duration > 0 ? Double(transfers) / duration : 0,
            invariants: invariants, series: series, breakpoint: breakpoint, memory: memory,
            unexpectedErrors: outcomes.reduce(0) { $0 + $1.unexpected }, outcomeUnknown: outcomeUnknown,
            server: config.address ?? "own", dataDirectory: keepData)
        report.peakInFlight = series.map(\.workers).max() ?? plan.maxWorkers
        report.cpu = cpu
        report.abortReason = abortReason
        report.interruptSignal = Interrupt.signal
        report.openLoop = open?.outcome(seconds: duration)
        if let followers, let server, let mode = config.replication {
            if server.hasExited {
                report.replicas = ReplicaOutcome(followers: followers.nodes.count, mode: mode, digestsEqual: false,
                                                 detail: "not compared: the primary exited during the run")
            } else {
                say("followers: waiting until they hold the whole log, then comparing digests")
                report.replicas = followers.finish(primary: server, mode: mode)
            }
        }
        report.metadata = RunMetadata(
            startedAt: startedAt, measuredAt: measuredAt, endedAt: WallClock.now(), version: version, commit: commit,
            commandLine: commandLine, host: HostInfo.current())
        report.thresholds = ThresholdCheck.evaluate(config.thresholds, report: report)
        return report
    }

    /// `up to 8 in flight` (closed model) or `10/s open model, at most 64 in flight`.
    static func loadLabel(_ plan: ScenarioPlan) -> String {
        guard let arrivals = plan.arrivals else { return "up to \(plan.maxWorkers) in flight" }
        let segments = arrivals.segments
        let rate = segments.count == 1 && segments[0].from == segments[0].to
            ? Threshold.format(segments[0].from, .rate) : "up to " + Threshold.format(arrivals.peakRate, .rate)
        return "open model \(rate), at most \(plan.maxWorkers) in flight"
    }

    private func say(_ line: String) {
        if showProgress { SystemProbe.emit(line + "\n") }
    }

    /// Every second: cuts an interval from the recorder, prints the progress line, and
    /// stops a run whose server is stuck (`StallWatch`). Every 100 ms: stops the run on
    /// Ctrl-C or when the bench's own server is gone.
    private static func tick(
        recorder: Recorder, control: RunControl, start: UInt64, scenario: String, watch: RunWatch, show: Bool,
        requestTimeout: Double
    ) async -> [TickPoint] {
        let terminal = SystemProbe.stdoutIsTerminal
        var series: [TickPoint] = []
        var stall = StallWatch(requestTimeout: requestTimeout)
        var last = start
        while true {
            var slept = 0
            while slept < 10 && !control.isStopped {
                try? await Task.sleep(for: .milliseconds(100))
                slept += 1
                if let signal = Interrupt.signal { control.abort("interrupted by \(Interrupt.name(signal))") }
                if let gone = watch.serverGone() { control.abort(gone) }
            }
            let now = monotonicNanos()
            let (figures, transfers) = recorder.takeInterval()
            let t = Double(now - start) / 1e9
            var successes = 0
            var failures = 0
            for (i, f) in figures.enumerated() where Metric.at(i).isOperation {
                successes += (f?.count ?? 0) - (f?.errors ?? 0)
                failures += f?.errors ?? 0
            }
            if let why = stall.observe(t: t, successes: successes, failures: failures) { control.abort(why) }
            let load = watch.load(t)
            var point = TickPoint(
                t: t, seconds: Double(now - last) / 1e9, workers: load.inFlight,
                transfers: transfers, figures: figures, serverRSSBytes: watch.rss())
            point.targetRate = load.rate
            last = now
            if point.seconds > 0.05 || figures.contains(where: { $0 != nil }) { series.append(point) }
            if show {
                let line = ProgressLine.text(point, scenario: scenario)
                if terminal {
                    SystemProbe.emit("\r\u{1B}[K" + line)
                } else if series.count % 5 == 0 || control.isStopped {
                    SystemProbe.emit(line + "\n")
                }
            }
            if control.isStopped { break }
        }
        if show && terminal { SystemProbe.emit("\n") }
        return series
    }

    /// Sets the active concurrency over time; stops the run at the plan's end or, for a
    /// breakpoint plan, once a step crosses a limit.
    private static func control(plan: ScenarioPlan, control: RunControl, recorder: Recorder, start: UInt64) async
        -> BreakpointOutcome? {
        if plan.arrivals != nil {
            // Open model: the senders follow the schedule; stop at its end.
            while !control.isStopped, Double(monotonicNanos() - start) / 1e9 < plan.totalSeconds {
                try? await Task.sleep(for: .milliseconds(50))
            }
            control.stop()
            return nil
        }
        guard let rule = plan.breakpoint else {
            while !control.isStopped {
                let t = Double(monotonicNanos() - start) / 1e9
                guard let w = plan.workers(at: t) else { break }
                control.setActiveWorkers(w)
                try? await Task.sleep(for: .milliseconds(100))
            }
            control.stop()
            return nil
        }
        var step = 0
        var workers = 1
        var lastGood: (workers: Int, perSecond: Double, p99: UInt64)?
        /// The first step over a limit, until the next step confirms it.
        var suspect: (workers: Int, perSecond: Double, p99: UInt64, reason: String)?
        _ = recorder.takeWindow()
        while true {
            let stepStart = monotonicNanos()
            control.setActiveWorkers(workers)
            while !control.isStopped && Double(monotonicNanos() - stepStart) / 1e9 < rule.stepSeconds {
                try? await Task.sleep(for: .milliseconds(100))
            }
            let seconds = Double(monotonicNanos() - stepStart) / 1e9
            let w = recorder.takeWindow()
            let rate = Double(w.requests) / max(seconds, 0.001)
            let errorRate = w.requests > 0 ? Double(w.errors) / Double(w.requests) : 0
            if control.isStopped {
                control.stop()
                return BreakpointOutcome(crossed: false, reason: "the run ended before a limit was crossed",
                                         lastGood: lastGood, broken: nil)
            }
            // Step 0 warms up (connections, first allocations) and is not judged; a limit
            // counts as crossed when two consecutive steps cross it (one noisy second on a
            // shared machine is not a breakpoint).
            if step > 0, w.p99 > rule.maxP99Micros || errorRate > rule.maxErrorRate {
                let reason = w.p99 > rule.maxP99Micros
                    ? "p99 \(Format.micros(w.p99)) > \(Format.micros(rule.maxP99Micros)) at \(workers) in flight"
                    : "error rate \(Format.fixed(errorRate * 100, 2)) % > \(Format.fixed(rule.maxErrorRate * 100, 2)) % at \(workers) in flight"
                if let first = suspect {
                    control.stop()
                    return BreakpointOutcome(crossed: true, reason: first.reason + " (and \(reason))", lastGood: lastGood,
                                             broken: (first.workers, first.perSecond, first.p99))
                }
                suspect = (workers, rate, w.p99, reason)
            } else {
                suspect = nil
                if step > 0 { lastGood = (workers, rate, w.p99) }
            }
            if Double(monotonicNanos() - start) / 1e9 + rule.stepSeconds > plan.totalSeconds + 0.5 || workers >= plan.maxWorkers {
                control.stop()
                return BreakpointOutcome(crossed: false, reason: "no limit crossed up to \(workers) in flight",
                                         lastGood: lastGood, broken: nil)
            }
            step += 1
            workers = ScenarioPlan.breakpointWorkers(step: step, growth: rule.growth, cap: plan.maxWorkers)
        }
    }
}
