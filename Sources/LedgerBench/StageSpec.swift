/// `--stages 10s:100,30s:1000,10s:0`: custom stages as in k6, each ramping linearly from
/// the previous stage's target to its own over its duration. Targets are workers
/// (concurrent requests, closed model) or, written `N/s` or with `--rate`, requests per
/// second (open model).
package struct StageSpec: Sendable, Equatable {
    /// One stage: ramp to `target` over `seconds`.
    package struct Step: Sendable, Equatable {
        package var seconds: Double
        package var target: Double

        package init(seconds: Double, target: Double) {
            precondition(seconds > 0 && target >= 0, "a stage lasts a while and targets a level of at least 0")
            self.seconds = seconds
            self.target = target
        }
    }

    package var steps: [Step]
    /// True when the targets are rates (`N/s`).
    package var rates: Bool

    package init(steps: [Step], rates: Bool) {
        self.steps = steps
        self.rates = rates
    }

    /// Total seconds.
    package var totalSeconds: Double { steps.reduce(0) { $0 + $1.seconds } }

    /// Parses `DURATION:TARGET[,DURATION:TARGET...]`. Durations: `500ms`, `10s`, `2m`,
    /// `1h` or plain seconds; targets: a whole number of workers or `N/s`, the same kind in
    /// every stage.
    package static func parse(_ text: String) throws(BenchError) -> StageSpec {
        func bad(_ why: String) -> BenchError { BenchError(.invalidOption, "--stages '\(text)': \(why)") }
        var steps: [Step] = []
        var kinds: Set<Bool> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.filter { $0 != " " }
            let halves = item.split(separator: ":", omittingEmptySubsequences: false)
            guard halves.count == 2 else { throw bad("each stage is DURATION:TARGET, e.g. 10s:100 or 10s:500/s") }
            guard let seconds = duration(halves[0]), seconds > 0, seconds <= 86_400 else {
                throw bad("'\(halves[0])' is not a duration in (0, 24h] (e.g. 500ms, 10s, 2m)")
            }
            var target = halves[1]
            let isRate = target.hasSuffix("/s")
            if isRate { target = target.dropLast(2) }
            guard let value = Double(target), value.isFinite, value >= 0 else {
                throw bad("'\(halves[1])' is not a target (workers, or requests per second as N/s)")
            }
            if !isRate, value != value.rounded() { throw bad("a worker target is a whole number ('\(halves[1])')") }
            guard value <= (isRate ? 10_000_000 : 4096) else {
                throw bad("'\(halves[1])' is above the limit (4096 workers, 10000000/s)")
            }
            kinds.insert(isRate)
            steps.append(Step(seconds: seconds, target: value))
        }
        guard kinds.count == 1, let rates = kinds.first else { throw bad("mix of worker and rate (N/s) targets") }
        return StageSpec(steps: steps, rates: rates)
    }

    /// Seconds of `500ms`, `10s`, `2m`, `1h` or a plain number.
    package static func duration<S: StringProtocol>(_ s: S) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            return Double(s.dropLast(suffix.count)).flatMap { $0.isFinite ? $0 * scale : nil }
        }
        return Double(s).flatMap { $0.isFinite ? $0 : nil }
    }

    /// The level `t` seconds in, ramping from `start`; nil once the stages are over.
    package func level(at t: Double, start: Double) -> Double? {
        var begin = 0.0
        var previous = start
        for step in steps {
            if t < begin + step.seconds {
                let f = max(0, t - begin) / step.seconds
                return previous + (step.target - previous) * f
            }
            begin += step.seconds
            previous = step.target
        }
        return nil
    }

    /// The stages as text again (`10s:100,30s:1000/s`).
    package var text: String {
        steps.map { Threshold.number($0.seconds) + "s:" + Threshold.number($0.target) + (rates ? "/s" : "") }
            .joined(separator: ",")
    }
}
