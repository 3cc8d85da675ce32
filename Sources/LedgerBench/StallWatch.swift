/// Stops a run against a server that is up but stuck: when requests failed and none
/// succeeded for `window` seconds. Every request ends within its timeout, so with a
/// window of at least twice the timeout every request sent in it has failed. (A server
/// that is gone makes requests fail at once; `RunControl`'s failures-in-a-row limit
/// stops those runs sooner.)
package struct StallWatch: Sendable {
    /// Seconds without a success, with failures, that stop the run.
    package let window: Double
    private var lastSuccess = 0.0
    private var failedSince = false

    /// The window for a request timeout: twice the timeout, at least 10 s.
    package init(requestTimeout: Double) {
        precondition(requestTimeout > 0, "a request timeout is positive")
        window = max(10, 2 * requestTimeout)
    }

    /// Notes one progress interval ending `t` seconds into the run, with the requests
    /// that succeeded and failed in it; returns why the run should stop, or nil.
    package mutating func observe(t: Double, successes: Int, failures: Int) -> String? {
        precondition(successes >= 0 && failures >= 0, "counts are never negative")
        if successes > 0 {
            lastSuccess = t
            failedSince = false
            return nil
        }
        if failures > 0 { failedSince = true }
        guard failedSince, t - lastSuccess >= window else { return nil }
        return "no request succeeded for \(Format.fixed(t - lastSuccess, 0)) s and requests failed; is the server stuck?"
    }
}
