import Synchronization

/// Counters the server keeps while it runs (exported on the metrics endpoint).
package final class ServerMetrics: Sendable {
    /// Connections accepted since start.
    let connectionsAccepted = Atomic<Int>(0)
    /// Connections open now.
    let connectionsOpen = Atomic<Int>(0)
    /// Requests decoded and started (not counting refused ones).
    let requestsStarted = Atomic<Int>(0)
    /// Successful replies sent.
    let repliesSent = Atomic<Int>(0)
    /// Error replies sent (all codes, `busy` included).
    let errorReplies = Atomic<Int>(0)
    /// Requests refused with `busy`.
    let busyReplies = Atomic<Int>(0)
    /// Frames rejected by the decoder.
    let badFrames = Atomic<Int>(0)
    /// Events in create requests that were made durable.
    let eventsCreated = Atomic<Int>(0)

    package init() {}

    /// Adds one to `counter`.
    static func bump(_ counter: borrowing Atomic<Int>, by n: Int = 1) {
        counter.add(n, ordering: .relaxed)
    }

    /// The counters in the Prometheus text exposition format.
    package func prometheusText(inFlight: Int) -> String {
        let rows: [(String, String, Int)] = [
            ("kamino_connections_accepted_total", "counter", connectionsAccepted.load(ordering: .relaxed)),
            ("kamino_connections_open", "gauge", connectionsOpen.load(ordering: .relaxed)),
            ("kamino_requests_total", "counter", requestsStarted.load(ordering: .relaxed)),
            ("kamino_replies_total", "counter", repliesSent.load(ordering: .relaxed)),
            ("kamino_error_replies_total", "counter", errorReplies.load(ordering: .relaxed)),
            ("kamino_busy_replies_total", "counter", busyReplies.load(ordering: .relaxed)),
            ("kamino_bad_frames_total", "counter", badFrames.load(ordering: .relaxed)),
            ("kamino_events_created_total", "counter", eventsCreated.load(ordering: .relaxed)),
            ("kamino_requests_in_flight", "gauge", inFlight),
        ]
        return rows.map { "# TYPE \($0.0) \($0.1)\n\($0.0) \($0.2)\n" }.joined()
    }
}
