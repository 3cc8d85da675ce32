import LedgerClient
import Testing
@testable import LedgerBench

/// `--stages`, the arrival schedule of `--rate` and the plans built from them (no sockets).
@Suite struct StageTests {
    @Test func parsesStages() throws {
        let spec = try StageSpec.parse("10s:100,30s:1000,10s:0")
        #expect(!spec.rates)
        #expect(spec.steps == [.init(seconds: 10, target: 100), .init(seconds: 30, target: 1000), .init(seconds: 10, target: 0)])
        #expect(spec.totalSeconds == 50)
        let rates = try StageSpec.parse("500ms:10/s, 2m:200/s,1h:0/s")
        #expect(rates.rates)
        #expect(rates.steps.map(\.seconds) == [0.5, 120, 3600])
        #expect(rates.text == "0.5s:10/s,120s:200/s,3600s:0/s")
        for bad in ["", "10s", "10s:", "0s:5", "-1s:5", "10s:1.5", "10s:5,10s:5/s", "10x:5", "10s:-3", "10s:5000"] {
            #expect(throws: BenchError.self, "\(bad)") { try StageSpec.parse(bad) }
        }
    }

    @Test func interpolatesLinearlyAsK6() throws {
        let spec = try StageSpec.parse("10s:100,30s:1000,10s:0")
        #expect(spec.level(at: 0, start: 1) == 1)
        #expect(spec.level(at: 5, start: 1) == 50.5)
        #expect(spec.level(at: 10, start: 1) == 100)
        #expect(spec.level(at: 25, start: 1) == 550)
        #expect(spec.level(at: 45, start: 1) == 500)
        #expect(spec.level(at: 50, start: 1) == nil)
    }

    @Test func closedPlanFromStages() throws {
        var c = BenchConfiguration()
        c.stages = try StageSpec.parse("10s:100,30s:1000,10s:0")
        #expect(!c.isOpenModel)
        #expect(c.scenarioName == "custom")
        let plan = c.plan()
        #expect(plan.arrivals == nil)
        #expect(plan.maxWorkers == 1000)
        #expect(plan.totalSeconds == 50)
        #expect(plan.workers(at: 0) == 1)
        #expect(plan.workers(at: 5) == 51)
        #expect(plan.workers(at: 25) == 550)
        #expect(plan.workers(at: 49.9996) == 0)
        #expect(plan.workers(at: 50) == nil)
        c.duration = 10
        #expect(throws: BenchError.self) { try c.validate() }
    }

    @Test func openPlanFromStagesAndRate() throws {
        var c = BenchConfiguration()
        c.stages = try StageSpec.parse("10s:100/s,10s:100/s")
        #expect(c.isOpenModel)
        let schedule = try #require(c.plan().arrivals)
        #expect(schedule.rate(at: 5) == 50)
        #expect(schedule.rate(at: 15) == 100)
        #expect(abs(schedule.totalRequests - 1500) < 1e-9)
        #expect(c.plan().maxWorkers == 64)
        // Worker targets with --rate: the targets are rates, starting from --rate.
        c.stages = try StageSpec.parse("10s:300")
        c.rate = 100
        c.inFlight = 8
        let ramp = try #require(c.plan().arrivals)
        #expect(ramp.rate(at: 0) == 100)
        #expect(ramp.rate(at: 5) == 200)
        #expect(c.plan().maxWorkers == 8)
    }

    @Test func constantRateSchedule() {
        let s = ArrivalSchedule.constant(200, seconds: 3)
        #expect(s.time(ofRequest: 0) == 0)
        #expect(abs((s.time(ofRequest: 1) ?? 0) - 0.005) < 1e-12)
        #expect(abs((s.time(ofRequest: 599) ?? 0) - 2.995) < 1e-9)
        #expect(s.time(ofRequest: 600) == nil)
        #expect(s.requestsDue(before: 3) == 600)
        #expect(s.requestsDue(before: 1) == 200)
        #expect(s.requestsDue(before: 0.0001) == 1)
        #expect(s.requestsDue(before: 0) == 0)
    }

    /// Coordinated omission: in the open model a request's latency counts from its intended
    /// send time, so a request the senders took late carries the wait in its latency.
    @Test func openModelLatencyCountsFromTheIntendedSendTime() async throws {
        let loop = OpenLoop(schedule: .constant(100, seconds: 1), cap: 1)
        let start = monotonicNanos() - 200_000_000  // the schedule began 200 ms ago
        loop.begin(at: start)
        let control = RunControl(transferLimit: nil)
        let first = try #require(await loop.nextDue(control))
        let second = try #require(await loop.nextDue(control))
        #expect(first == start && second == start + 10_000_000)
        let late = await measure(from: second) { () throws(KaminoClientError) in 1 }
        #expect(late.micros >= 190_000, "counted from the intended time, not the send: \(late.micros) µs")
        #expect(Turn(due: second).origin() == second)
        // The closed model counts from the send.
        let closed = await measure { () throws(KaminoClientError) in 1 }
        #expect(closed.micros < 190_000)
        #expect(Turn(due: nil).origin() >= monotonicNanos() - 1_000_000_000)
        let outcome = loop.outcome(seconds: 0.2)
        #expect(outcome.sent == 2 && outcome.late == 2)
    }

    @Test func rampSchedulesAreMonotonicAndMatchTheIntegral() throws {
        // 0 → 100/s over 10 s (500 requests), hold 100/s for 5 s (500), down to 0 over 10 s (500).
        let s = ArrivalSchedule(segments: [.init(seconds: 10, from: 0, to: 100), .init(seconds: 5, from: 100, to: 100),
                                           .init(seconds: 10, from: 100, to: 0)])
        var previous = -1.0
        var i = 0
        while let t = s.time(ofRequest: i) {
            #expect(t >= previous, "request \(i)")
            previous = t
            i += 1
        }
        #expect(i == 1500)
        // Under a ramp from 0, request n is due at sqrt(n / 5): N(t) = 5 t².
        #expect(abs((s.time(ofRequest: 125) ?? 0) - 5) < 1e-9)
        #expect(abs((s.time(ofRequest: 500) ?? 0) - 10) < 1e-9)
        #expect(abs((s.time(ofRequest: 750) ?? 0) - 12.5) < 1e-9)
        // Ramp down: N = 1000 + 100 τ - 5 τ²; request 1375 at τ = 5.
        #expect(abs((s.time(ofRequest: 1375) ?? 0) - 20) < 1e-9)
        #expect(s.requestsDue(before: 5) == 125)
        #expect(s.rate(at: 20) == 50)
        #expect(s.peakRate == 100)
    }

    @Test func scenarioShapesInTheOpenModel() throws {
        var c = BenchConfiguration()
        c.scenario = .smoke
        #expect(c.isOpenModel)
        #expect(c.effectiveBatchSize == 100)
        let smoke = try #require(c.plan().arrivals)
        #expect(smoke == .constant(10, seconds: 5))
        c.scenario = .stress
        c.rate = 50
        let stress = try #require(c.plan().arrivals)
        #expect(stress.rate(at: 0) == 50)
        #expect(stress.rate(at: 30) == 200)
        #expect(stress.rate(at: 59.9).map { $0 < 60 } == true)
        c.scenario = .breakpoint
        #expect(throws: BenchError.self) { try c.validate() }
        c.scenario = .throughput
        c.rate = 0
        #expect(throws: BenchError.self) { try c.validate() }
    }
}
