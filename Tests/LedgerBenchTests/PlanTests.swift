import Testing
@testable import LedgerBench

@Suite struct PlanTests {
    @Test func defaultsFinishInUnderTwoMinutes() {
        for s in BenchScenario.allCases {
            var c = BenchConfiguration()
            c.scenario = s
            for m in BenchMix.allCases {
                c.mix = m
                let plan = c.plan()
                #expect(plan.totalSeconds < 120, "\(s) \(m): \(plan.totalSeconds) s")
                #expect(plan.totalSeconds > 0)
            }
        }
    }

    /// k6's meaning: minimal load, a few seconds.
    @Test func smokeIsAMinimalLoad() {
        var c = BenchConfiguration()
        c.scenario = .smoke
        let plan = c.plan()
        #expect(plan.totalSeconds <= 10)
        #expect(plan.arrivals?.peakRate == 10)
        #expect(c.effectiveBatchSize == 100)
    }

    /// The default is the old `smoke`: one batch of 8189 in flight for 10 s, as fast as it goes.
    @Test func throughputIsTheDefault() {
        let c = BenchConfiguration()
        #expect(c.scenario == .throughput)
        let plan = c.plan()
        #expect(plan.arrivals == nil)
        #expect(plan.maxWorkers == 1)
        #expect(plan.totalSeconds == 10)
        #expect(c.effectiveBatchSize == 8189)
    }

    @Test func spikeJumpsAndComesBack() {
        let plan = ScenarioPlan.make(.spike, workers: 4, duration: nil, maxP99Micros: 1000)
        #expect(plan.workers(at: 1) == 4)
        #expect(plan.workers(at: 20) == 32)
        #expect(plan.workers(at: 40) == 4)
        #expect(plan.workers(at: 50) == nil)
        #expect(plan.maxWorkers == 32)
    }

    @Test func stressRampsAboveTheBase() {
        let plan = ScenarioPlan.make(.stress, workers: 4, duration: nil, maxP99Micros: 1000)
        #expect(plan.workers(at: 0) == 4)
        #expect(plan.workers(at: 5) ?? 0 > 4)
        #expect(plan.workers(at: 30) == 16)
    }

    @Test func durationScalesStages() {
        let plan = ScenarioPlan.make(.spike, workers: 2, duration: 9, maxP99Micros: 1000)
        #expect(abs(plan.totalSeconds - 9) < 1e-9)
        #expect(plan.workers(at: 4) == 16)
    }

    @Test func breakpointGrows() {
        let steps = (0..<6).map { ScenarioPlan.breakpointWorkers(step: $0, growth: 1.5, cap: 100) }
        #expect(steps == [1, 2, 3, 5, 8, 12])
        #expect(ScenarioPlan.breakpointWorkers(step: 40, growth: 1.5, cap: 100) == 100)
    }

    @Test func transferCountRunsUntilReached() {
        var c = BenchConfiguration()
        c.scenario = .load
        c.transfers = 1_000_000
        #expect(c.plan().totalSeconds >= 3600)
        c.duration = 5
        #expect(c.plan().totalSeconds == 5)
    }

    @Test func validationRejectsBadOptions() {
        var c = BenchConfiguration()
        c.batchSize = 9000
        #expect(throws: BenchError.self) { try c.validate() }
        c = BenchConfiguration()
        c.twoPhase = 0.7
        c.linked = 0.5
        #expect(throws: BenchError.self) { try c.validate() }
        c = BenchConfiguration()
        c.accounts = 1
        #expect(throws: BenchError.self) { try c.validate() }
        #expect(throws: Never.self) { try BenchConfiguration().validate() }
    }

    @Test func transferBudget() {
        let control = RunControl(transferLimit: 10_000)
        #expect(control.reserveTransfers(8189) == 8189)
        #expect(control.reserveTransfers(8189) == 1811)
        #expect(control.reserveTransfers(8189) == 0)
        #expect(control.isStopped)
    }
}

/// The rule that stops a run against a stuck server (no sockets).
@Suite struct StallWatchTests {
    @Test func stopsOnlyAfterAWindowOfFailuresWithoutSuccess() {
        var w = StallWatch(requestTimeout: 30)
        #expect(w.window == 60)
        #expect(w.observe(t: 1, successes: 10, failures: 0) == nil)
        // A quiet stretch (low rate, no answers yet) is not a stall.
        #expect(w.observe(t: 100, successes: 0, failures: 0) == nil)
        #expect(w.observe(t: 101, successes: 5, failures: 2) == nil)
        #expect(w.observe(t: 131, successes: 0, failures: 1) == nil)
        #expect(w.observe(t: 160, successes: 0, failures: 0) == nil)
        let why = w.observe(t: 161, successes: 0, failures: 0)
        #expect(why?.hasPrefix("no request succeeded for 60 s") == true, "\(why ?? "nil")")
        // A success resets it.
        #expect(w.observe(t: 162, successes: 1, failures: 0) == nil)
        #expect(w.observe(t: 200, successes: 0, failures: 3) == nil)
        #expect(StallWatch(requestTimeout: 1).window == 10)
    }
}
