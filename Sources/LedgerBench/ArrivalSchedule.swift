/// The open model's schedule: the rate (requests per second) over time as linear
/// segments, and the intended send time of every request. Request `i` (from 0) is due
/// when the integral of the rate since the start reaches `i`, so a constant rate R sends
/// at 0, 1/R, 2/R, ... and a ramp sends ever closer together, as k6's arrival-rate
/// executors do. Latency is measured from these times, not from the actual send, so a
/// slow server cannot slow the senders down and hide its queue (coordinated omission).
package struct ArrivalSchedule: Sendable, Equatable {
    /// `seconds` long, the rate going linearly from `from` to `to` (both >= 0).
    package struct Segment: Sendable, Equatable {
        package var seconds: Double
        package var from: Double
        package var to: Double

        package init(seconds: Double, from: Double, to: Double) {
            precondition(seconds > 0 && from >= 0 && to >= 0, "a segment lasts a while at rates of at least 0")
            self.seconds = seconds
            self.from = from
            self.to = to
        }

        /// Requests due within the segment (the integral of its rate).
        var requests: Double { (from + to) / 2 * seconds }
    }

    package let segments: [Segment]

    package static func == (a: ArrivalSchedule, b: ArrivalSchedule) -> Bool { a.segments == b.segments }

    /// Start time and requests due before each segment (derived from `segments`).
    private let starts: [(time: Double, requests: Double)]

    package init(segments: [Segment]) {
        self.segments = segments
        var t = 0.0
        var n = 0.0
        var starts: [(Double, Double)] = []
        for s in segments {
            starts.append((t, n))
            t += s.seconds
            n += s.requests
        }
        self.starts = starts
    }

    /// A constant `rate` for `seconds`.
    package static func constant(_ rate: Double, seconds: Double) -> ArrivalSchedule {
        ArrivalSchedule(segments: [Segment(seconds: seconds, from: rate, to: rate)])
    }

    package var totalSeconds: Double { segments.reduce(0) { $0 + $1.seconds } }

    /// Requests due over the whole schedule (the integral of the rate).
    package var totalRequests: Double { segments.reduce(0) { $0 + $1.requests } }

    /// The highest rate any segment reaches.
    package var peakRate: Double { segments.map { max($0.from, $0.to) }.max() ?? 0 }

    /// The intended rate `t` seconds in; nil past the end.
    package func rate(at t: Double) -> Double? {
        for (i, s) in segments.enumerated() where t < starts[i].time + s.seconds {
            return s.from + (s.to - s.from) * max(0, t - starts[i].time) / s.seconds
        }
        return nil
    }

    /// Requests due strictly before `t` seconds: those numbered below the integral.
    package func requestsDue(before t: Double) -> Int {
        guard t > 0 else { return 0 }
        var due = 0.0
        for (i, s) in segments.enumerated() {
            let start = starts[i]
            if t >= start.time + s.seconds {
                due = start.requests + s.requests
                continue
            }
            let tau = t - start.time
            due = start.requests + s.from * tau + (s.to - s.from) / (2 * s.seconds) * tau * tau
            break
        }
        return Int(due.rounded(.up))
    }

    /// Seconds from the start at which request `i` (from 0) is due; nil when it falls
    /// after the end.
    package func time(ofRequest i: Int) -> Double? {
        precondition(i >= 0, "requests are numbered from 0")
        let target = Double(i)
        for (k, s) in segments.enumerated() {
            let start = starts[k]
            let inside = target - start.requests
            guard inside < s.requests else { continue }
            if inside <= 0 { return start.time }
            // Solve from·τ + a·τ² = inside, a = (to - from) / (2·seconds), in the form that
            // stays exact for a = 0 and loses no digits when a is small.
            let a = (s.to - s.from) / (2 * s.seconds)
            let root = max(0, s.from * s.from + 4 * a * inside).squareRoot()
            let tau = 2 * inside / (s.from + root)
            assert(tau >= 0 && tau <= s.seconds * (1 + 1e-9), "request \(i) falls inside segment \(k)")
            return start.time + min(tau, s.seconds)
        }
        return nil
    }
}
