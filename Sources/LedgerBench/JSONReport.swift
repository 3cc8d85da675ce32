/// The `--json FILE` document: `scenario`, `mix`, `machine`,
/// `duration_s`, `operations` with counts, errors, rates and latency percentiles,
/// `transfers_per_second`, `invariants_ok`, `thresholds`, `exit_code`, the run's metadata
/// (`run`: times, version, commit, host, command line), plus the configuration, bank
/// actions, statuses, open model, breakpoint, CPU per request, memory, the comparison
/// with a baseline and the per-second time series.
package enum JSONReport {
    package static func document(_ r: BenchReport) -> JSONValue {
        let c = r.configuration
        var fields: [(String, JSONValue)] = [
            ("scenario", .string(c.scenarioName)),
            ("mix", .string(r.mix.rawValue)),
            ("machine", .object([("cores", .int(r.machine.cores)), ("memory_bytes", .int(r.machine.memoryBytes))])),
            ("duration_s", .double(r.durationSeconds)),
            ("setup_s", .double(r.setupSeconds)),
            ("operations", .object(r.operations.map { ($0.name, metric($0)) })),
            ("transfers_created", .int(r.transfersCreated)),
            ("transfers_per_second", .double(r.transfersPerSecond)),
            ("invariants_ok", .bool(r.invariants.ok)),
            ("invariants", .array(r.invariants.checks.map {
                .object([("check", .string($0.name)), ("ok", .bool($0.ok)), ("detail", .string($0.detail))])
            })),
            ("unexpected_errors", .int(r.unexpectedErrors)),
            ("thresholds_ok", .bool(r.thresholdsOK)),
            ("thresholds", .array(r.thresholds.map(threshold))),
            ("completed", .bool(r.abortReason == nil)),
            ("stopped_early", r.abortReason.map { .string($0) } ?? .null),
            ("exit_code", .int(Int(r.exitCode))),
            ("configuration", .object([
                ("server", .string(r.server)),
                ("model", .string(c.isOpenModel ? "open" : "closed")),
                ("rate_per_second", c.rate.map { .double($0) } ?? .null),
                ("stages", c.stages.map { .string($0.text) } ?? .null),
                ("duration_s", c.duration.map { .double($0) } ?? .null),
                ("accounts", .int(c.accounts)),
                ("transfers", c.transfers.map { .int($0) } ?? .null),
                ("batch_size", .int(c.effectiveBatchSize)),
                ("connections", .int(c.effectiveConnections)),
                ("in_flight", .int(c.effectiveInFlight)),
                ("peak_in_flight", .int(r.peakInFlight)),
                ("distribution", .string(c.distribution.name)),
                ("two_phase", .double(c.twoPhase)),
                ("linked", .double(c.linked)),
                ("seed", .string(String(c.seed))),
                ("data", r.dataDirectory.map { .string($0) } ?? .null),
                ("followers", .int(c.followers)),
                ("replication", c.replication.map { .string($0.rawValue) } ?? .null),
                ("retries", .int(c.retries)),
                ("request_timeout_s", .double(c.requestTimeout)),
                ("max_p99_ms", c.maxP99Millis.map { .double($0) } ?? .null),
                ("thresholds", .array(c.thresholds.map { .string($0.text) })),
            ])),
        ]
        if let m = r.metadata { fields.insert(("run", run(m)), at: 2) }
        if let o = r.openLoop {
            fields.append(("open_model", .object([
                ("target_rate_per_second", o.targetRate.map { .double($0) } ?? .null),
                ("peak_rate_per_second", .double(o.peakRate)),
                ("in_flight_cap", .int(o.cap)), ("due", .int(o.due)), ("sent", .int(o.sent)),
                ("sent_per_second", .double(o.sentPerSecond)), ("late", .int(o.late)), ("late_all_busy", .int(o.lateAllBusy)),
                ("max_late_us", .int(Int(o.maxLateMicros))), ("dropped", .int(o.dropped)),
            ])))
        }
        if let comparison = r.comparison { fields.append(("comparison", comparison.json)) }
        if let replicas = r.replicas {
            fields.append(("replicas", .object([
                ("followers", .int(replicas.followers)), ("replication", .string(replicas.mode.rawValue)),
                ("digests_equal", .bool(replicas.digestsEqual)), ("detail", .string(replicas.detail)),
            ])))
        }
        if !r.actions.isEmpty {
            fields.append(("actions", .object(r.actions.map { ($0.name, metric($0)) })))
        }
        if let b = r.breakpoint {
            func step(_ s: (workers: Int, perSecond: Double, p99: UInt64)?) -> JSONValue {
                guard let s else { return .null }
                return .object([("in_flight", .int(s.workers)), ("requests_per_second", .double(s.perSecond)),
                                ("p99_us", .int(Int(s.p99)))])
            }
            fields.append(("breakpoint", .object([
                ("crossed", .bool(b.crossed)), ("reason", .string(b.reason)),
                ("last_good", step(b.lastGood)), ("broken", step(b.broken)),
            ])))
        }
        if let cpu = r.cpu { fields.append(("cpu", Self.cpu(cpu))) }
        if let m = r.memory {
            fields.append(("server_memory", .object([
                ("start_bytes", .int(m.startBytes)), ("end_bytes", .int(m.endBytes)), ("max_bytes", .int(m.maxBytes)),
            ])))
        }
        fields.append(("series", series(r.series)))
        return .object(fields)
    }

    /// `cpu`: microseconds of CPU of the client and of the server over the measured phase,
    /// per request, per transfer and per bank action, and cores busy; null where unknown.
    static func cpu(_ c: CPUCost) -> JSONValue {
        func num(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
        func time(_ t: CPUTime?) -> JSONValue {
            guard let t else { return .null }
            return .object([("user_us", .int(Int(t.userMicros))), ("system_us", .int(Int(t.systemMicros))),
                            ("total_us", .int(Int(t.totalMicros)))])
        }
        return .object([
            ("seconds", .double(c.seconds)),
            ("requests", .int(c.requests)), ("transfers", .int(c.transfers)), ("actions", .int(c.actions)),
            ("client", time(c.client)), ("server", time(c.server)),
            ("server_note", c.serverNote.map { .string($0) } ?? .null),
            ("client_us_per_request", num(c.clientPerRequest)), ("server_us_per_request", num(c.serverPerRequest)),
            ("client_us_per_transfer", num(c.clientPerTransfer)), ("server_us_per_transfer", num(c.serverPerTransfer)),
            ("client_us_per_action", num(c.clientPerAction)), ("server_us_per_action", num(c.serverPerAction)),
            ("client_cores", num(c.clientCores)), ("server_cores", num(c.serverCores)),
        ])
    }

    /// `run`: when (UTC), with which build and where.
    static func run(_ m: RunMetadata) -> JSONValue {
        .object([
            ("started_at", .string(m.startedAt.iso8601)),
            ("measured_from", .string(m.measuredAt.iso8601)),
            ("ended_at", .string(m.endedAt.iso8601)),
            ("kamino_version", .string(m.version)),
            ("git_commit", .string(m.commit)),
            ("command_line", .array(m.commandLine.map { .string($0) })),
            ("host", .object([
                ("hostname", .string(m.host.hostname)), ("kernel", .string(m.host.kernel)),
                ("nproc", .int(m.host.nproc)), ("cores_online", .int(m.host.machine.cores)),
                ("memory_bytes", .int(m.host.machine.memoryBytes)),
            ])),
        ])
    }

    /// One threshold: the rule, the value measured (null without samples) and whether it held.
    static func threshold(_ t: ThresholdResult) -> JSONValue {
        .object([
            ("threshold", .string(t.threshold.text)), ("metric", .string(t.threshold.metric)),
            ("statistic", .string(t.threshold.statistic.name)),
            ("comparison", .string(t.threshold.comparison.rawValue)),
            ("limit", .double(t.threshold.limit)),
            ("unit", .string(t.threshold.statistic.isLatency ? "us" : t.threshold.statistic == .rate ? "per_second"
                : t.threshold.statistic == .errorRate ? "fraction" : "count")),
            ("actual", t.actual.map { .double($0) } ?? .null),
            ("ok", .bool(t.ok)),
        ])
    }

    private static func metric(_ m: MetricSummary) -> JSONValue {
        .object([
            ("count", .int(m.count)),
            ("errors", .int(m.errors)),
            ("per_second", .double(m.perSecond)),
            ("latency_us", .object([
                ("p50", .int(Int(m.p50))), ("p90", .int(Int(m.p90))), ("p95", .int(Int(m.p95))),
                ("p99", .int(Int(m.p99))), ("p999", .int(Int(m.p999))), ("max", .int(Int(m.max))),
                ("mean", .double(m.mean)),
            ])),
            ("errors_by_status", .object(m.errorsByLabel.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("results_by_status", .object(m.statuses.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
        ])
    }

    /// The time series: one object per interval with per-operation figures.
    static func series(_ points: [TickPoint]) -> JSONValue {
        .array(points.map { p in
            var ops: [(String, JSONValue)] = []
            for (i, f) in p.figures.enumerated() {
                guard let f else { continue }
                ops.append((Metric.at(i).name, .object([
                    ("count", .int(f.count)), ("errors", .int(f.errors)),
                    ("p50_us", .int(Int(f.p50))), ("p90_us", .int(Int(f.p90))), ("p99_us", .int(Int(f.p99))),
                    ("max_us", .int(Int(f.max))),
                ])))
            }
            var fields: [(String, JSONValue)] = [
                ("t", .double(p.t)), ("seconds", .double(p.seconds)), ("in_flight", .int(p.workers)),
                ("transfers", .int(p.transfers)), ("operations", .object(ops)),
            ]
            if let rss = p.serverRSSBytes { fields.append(("server_rss_bytes", .int(rss))) }
            if let rate = p.targetRate { fields.append(("target_rate_per_second", .double(rate))) }
            return .object(fields)
        })
    }
}
