/// The `--json FILE` document: `scenario`, `mix`, `machine`,
/// `duration_s`, `operations` with counts, errors, rates and latency percentiles,
/// `transfers_per_second`, `invariants_ok`, plus the configuration, bank actions,
/// statuses, breakpoint, CPU per request, memory and the per-second time series.
package enum JSONReport {
    package static func document(_ r: BenchReport) -> JSONValue {
        let c = r.configuration
        var fields: [(String, JSONValue)] = [
            ("scenario", .string(r.scenario.rawValue)),
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
            ("configuration", .object([
                ("server", .string(r.server)),
                ("accounts", .int(c.accounts)),
                ("transfers", c.transfers.map { .int($0) } ?? .null),
                ("batch_size", .int(c.batchSize)),
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
            ])),
        ]
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

    private static func metric(_ m: MetricSummary) -> JSONValue {
        .object([
            ("count", .int(m.count)),
            ("errors", .int(m.errors)),
            ("per_second", .double(m.perSecond)),
            ("latency_us", .object([
                ("p50", .int(Int(m.p50))), ("p90", .int(Int(m.p90))), ("p95", .int(Int(m.p95))),
                ("p99", .int(Int(m.p99))), ("p999", .int(Int(m.p999))), ("max", .int(Int(m.max))),
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
            return .object(fields)
        })
    }
}
