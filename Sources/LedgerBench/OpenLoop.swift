import Synchronization

/// The open model's shared state: hands the senders the run's requests in order, each
/// with its intended send time from the `ArrivalSchedule`, and counts what was sent and
/// how late. There are as many senders as the in-flight cap; a sender takes the next
/// request when it is free, so a request is sent late only when every sender was busy
/// at its intended time (or the machine was slow to wake one up). Its latency still
/// counts from the intended time.
package final class OpenLoop: Sendable {
    /// A request is late when sent more than this after its intended time.
    package static let lateAfterNanos: UInt64 = 1_000_000
    package let schedule: ArrivalSchedule
    /// Requests that may be in flight at once (the senders).
    package let cap: Int
    private let origin = Atomic<UInt64>(0)
    private let next = Atomic<Int>(0)
    private let sentCount = Atomic<Int>(0)
    private let lateCount = Atomic<Int>(0)
    private let busyLateCount = Atomic<Int>(0)
    private let maxLateNanos = Atomic<UInt64>(0)
    private let inFlightCount = Atomic<Int>(0)

    package init(schedule: ArrivalSchedule, cap: Int) {
        precondition(cap > 0, "at least one sender")
        self.schedule = schedule
        self.cap = cap
    }

    /// Sets the schedule's time 0 (monotonic nanoseconds); call before the senders start.
    package func begin(at nanos: UInt64) { origin.store(nanos, ordering: .releasing) }

    /// Waits until the next request is due and returns its intended time (monotonic
    /// nanoseconds); nil once the schedule is over, the run stopped before the request
    /// was taken, or the run was aborted.
    package func nextDue(_ control: RunControl) async -> UInt64? {
        guard !control.isStopped else { return nil }
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard let t = schedule.time(ofRequest: i) else {
            // Past the schedule: wait for the run's end, so that the measured phase lasts
            // the schedule's length and the achieved rate is not overstated.
            while !control.isStopped { try? await Task.sleep(for: .milliseconds(20)) }
            return nil
        }
        let due = origin.load(ordering: .acquiring) + UInt64(t * 1e9)
        // Taken after its time: every sender was busy when it fell due (the cap was reached).
        if monotonicNanos() > due + Self.lateAfterNanos { busyLateCount.wrappingAdd(1, ordering: .relaxed) }
        while true {
            let now = monotonicNanos()
            if now >= due {
                let late = now - due
                if late > Self.lateAfterNanos { lateCount.wrappingAdd(1, ordering: .relaxed) }
                _ = maxLateNanos.max(late, ordering: .relaxed)
                break
            }
            // Short naps, so that an abort (Ctrl-C, dead server) is seen within 100 ms. No
            // tolerance: the default lets the timer fire milliseconds late.
            try? await Task.sleep(for: .nanoseconds(Int64(min(due - now, 100_000_000))), tolerance: .zero)
            // A request taken before the schedule's end is still sent after the end stops
            // the run (a sender woken a little late must not turn it into a drop).
            if control.isAborted { return nil }
        }
        sentCount.wrappingAdd(1, ordering: .relaxed)
        inFlightCount.wrappingAdd(1, ordering: .relaxed)
        return due
    }

    /// A request handed out by `nextDue` finished.
    package func done() { inFlightCount.wrappingSubtract(1, ordering: .relaxed) }

    /// Requests in flight now.
    package var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// What happened over a run that lasted `seconds`.
    package func outcome(seconds: Double) -> OpenLoopOutcome {
        let sent = sentCount.load(ordering: .relaxed)
        let due = schedule.requestsDue(before: seconds)
        return OpenLoopOutcome(
            targetRate: schedule.segments.count == 1 && schedule.segments[0].from == schedule.segments[0].to
                ? schedule.segments[0].from : nil,
            peakRate: schedule.peakRate, cap: cap, due: due, sent: sent,
            sentPerSecond: seconds > 0 ? Double(sent) / seconds : 0,
            late: lateCount.load(ordering: .relaxed), lateAllBusy: busyLateCount.load(ordering: .relaxed),
            maxLateMicros: maxLateNanos.load(ordering: .relaxed) / 1000,
            dropped: max(0, due - sent))
    }
}

/// The open model's figures for the reports.
package struct OpenLoopOutcome: Sendable, Equatable {
    /// The constant rate, when the schedule has one.
    package var targetRate: Double?
    package var peakRate: Double
    /// The in-flight cap.
    package var cap: Int
    /// Requests due before the run ended.
    package var due: Int
    package var sent: Int
    package var sentPerSecond: Double
    /// Sent more than 1 ms after their intended time.
    package var late: Int
    /// Of those, the ones due while every sender was busy (the in-flight cap was reached);
    /// the others were woken late (a busy machine).
    package var lateAllBusy: Int
    package var maxLateMicros: UInt64
    /// Due before the run ended but never sent (every sender was still busy).
    package var dropped: Int
}
