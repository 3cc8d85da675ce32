/// The load shapes, after the k6 model banking teams use.
package enum BenchScenario: String, Sendable, CaseIterable {
    /// The default: the base concurrency for 10 s, as fast as the server answers (one
    /// batch of 8189 in flight in the transfers mix: TigerBeetle's benchmark shape). Was
    /// called `smoke` before k6's meaning was adopted.
    case throughput
    /// Minimal load, briefly (k6's smoke test): 10 requests per second for 5 s in the open
    /// model, batches of 100 in the transfers mix. Does it work at all.
    case smoke
    /// Steady load at the configured concurrency.
    case load
    /// Ramp to several times the configured concurrency (above capacity), hold, ramp down.
    case stress
    /// Steady, then a sudden jump of clients, then back.
    case spike
    /// Steady and long, with the server's memory watched.
    case soak
    /// Ramps up until latency or errors cross a limit, and reports where.
    case breakpoint
}

/// One stage of a plan: for `seconds`, hold `workers` concurrent requests (or ramp
/// linearly to it from the previous stage's level when `ramp`). Only custom stages
/// (`--stages ...:0`) target 0 workers.
package struct Stage: Sendable, Equatable {
    package var seconds: Double
    package var workers: Int
    package var ramp: Bool

    package init(seconds: Double, workers: Int, ramp: Bool = false) {
        self.seconds = seconds
        self.workers = max(0, workers)
        self.ramp = ramp
    }
}

/// When a breakpoint run stops: a step whose p99 or error rate crosses these.
package struct BreakpointRule: Sendable, Equatable {
    /// Seconds per step.
    package var stepSeconds: Double
    /// Concurrency grows by this factor per step (at least by one).
    package var growth: Double
    /// The p99 latency limit, microseconds.
    package var maxP99Micros: UInt64
    /// The error-rate limit (errors / requests in the step).
    package var maxErrorRate: Double
}

/// A scenario turned into numbers: stages (or a breakpoint ramp), how many workers to
/// start, and the longest it may run. In the open model, `arrivals` gives when requests
/// are due and `maxWorkers` caps the requests in flight.
package struct ScenarioPlan: Sendable, Equatable {
    package var scenario: BenchScenario
    package var stages: [Stage]
    package var breakpoint: BreakpointRule?
    /// Workers to start (the highest level any stage reaches).
    package var maxWorkers: Int
    /// The level a first ramping stage starts from.
    package var startWorkers = 1
    /// Open model: the arrival schedule; nil: closed model (the stages set the workers).
    package var arrivals: ArrivalSchedule?

    /// Total planned seconds.
    package var totalSeconds: Double { arrivals?.totalSeconds ?? stages.reduce(0) { $0 + $1.seconds } }

    /// The plan of `scenario` for a base concurrency of `workers`, scaled so that it lasts
    /// `duration` seconds when given (the defaults all finish in under 2 minutes).
    package static func make(
        _ scenario: BenchScenario, workers base: Int, duration: Double?, maxP99Micros: UInt64,
        maxErrorRate: Double = 0.01, workerCap: Int = 4096
    ) -> ScenarioPlan {
        let w = max(1, base)
        var stages: [Stage]
        var rule: BreakpointRule?
        var maxWorkers: Int
        switch scenario {
        case .throughput:
            stages = [Stage(seconds: 10, workers: w)]
        case .smoke:
            stages = [Stage(seconds: 5, workers: w)]
        case .load:
            stages = [Stage(seconds: 60, workers: w)]
        case .stress:
            stages = [Stage(seconds: 10, workers: 4 * w, ramp: true), Stage(seconds: 40, workers: 4 * w),
                      Stage(seconds: 10, workers: w, ramp: true)]
        case .spike:
            stages = [Stage(seconds: 15, workers: w), Stage(seconds: 15, workers: 8 * w), Stage(seconds: 15, workers: w)]
        case .soak:
            stages = [Stage(seconds: 110, workers: w)]
        case .breakpoint:
            let total = duration ?? 110
            stages = [Stage(seconds: total, workers: w)]
            rule = BreakpointRule(stepSeconds: 5, growth: 1.5, maxP99Micros: maxP99Micros, maxErrorRate: maxErrorRate)
        }
        if let duration, scenario != .breakpoint {
            let scale = duration / stages.reduce(0) { $0 + $1.seconds }
            for i in stages.indices { stages[i].seconds *= scale }
        }
        maxWorkers = min(stages.map(\.workers).max() ?? w, workerCap)
        if rule != nil { maxWorkers = workerCap }
        for i in stages.indices { stages[i].workers = min(stages[i].workers, workerCap) }
        return ScenarioPlan(scenario: scenario, stages: stages, breakpoint: rule, maxWorkers: maxWorkers,
                            startWorkers: min(w, workerCap))
    }

    /// The target concurrency `t` seconds into a staged plan (not breakpoint), or nil
    /// once the plan is over.
    package func workers(at t: Double) -> Int? {
        var start = 0.0
        var previous = startWorkers
        for stage in stages {
            if t < start + stage.seconds {
                guard stage.ramp, stage.seconds > 0 else { return stage.workers }
                let f = (t - start) / stage.seconds
                return max(0, Int((Double(previous) + (Double(stage.workers - previous)) * f).rounded()))
            }
            start += stage.seconds
            previous = stage.workers
        }
        return nil
    }

    /// The concurrency of breakpoint step `n` (0-based), starting from 1.
    package static func breakpointWorkers(step: Int, growth: Double, cap: Int) -> Int {
        var w = 1
        for _ in 0..<step { w = min(cap, max(w + 1, Int((Double(w) * growth).rounded()))) }
        return w
    }
}
