import LedgerWire
import NIOCore
import Synchronization

/// Token buckets of requests and events per key (a token's subject, or a client address
/// when authentication is off), shared by every connection of that key.
///
/// Each bucket refills at its rate per second and holds at most one second of it (the
/// events bucket at least one full batch, 8189 events, so that any request can pass).
/// A request takes one request token and its events' tokens together, or nothing.
package final class RateLimiter: Sendable {
    private let requestsPerSecond: Int
    private let eventsPerSecond: Int
    private let buckets = Mutex<[String: Buckets]>([:])
    /// Keys kept before idle full buckets are dropped.
    private static let maxKeys = 10_000

    /// One key's two buckets.
    package final class Buckets: Sendable {
        private let state: Mutex<State>
        private let requestRate: Double
        private let eventRate: Double
        private let requestBurst: Double
        private let eventBurst: Double

        struct State {
            var requests: Double
            var events: Double
            var lastNanos: UInt64
        }

        init(requestsPerSecond: Int, eventsPerSecond: Int, now: UInt64) {
            requestRate = Double(requestsPerSecond)
            eventRate = Double(eventsPerSecond)
            requestBurst = max(1, requestRate)
            eventBurst = max(Double(WireLimits.batchMax), eventRate)
            state = Mutex(State(requests: requestBurst, events: eventBurst, lastNanos: now))
        }

        /// Takes one request and `events` events; on refusal, the limit that refused and
        /// the milliseconds until it would pass.
        package func take(events: Int, now: UInt64) -> (SecurityMetrics.Limit, Int)? {
            state.withLock { s in
                let elapsed = Double(now &- s.lastNanos) / 1e9
                s.lastNanos = now
                if requestRate > 0 { s.requests = min(requestBurst, s.requests + elapsed * requestRate) }
                if eventRate > 0 { s.events = min(eventBurst, s.events + elapsed * eventRate) }
                if requestRate > 0 && s.requests < 1 {
                    return (.requestRate, Int(((1 - s.requests) / requestRate * 1000).rounded(.up)))
                }
                let need = Double(events)
                if eventRate > 0 && s.events < need {
                    return (.eventRate, Int(((need - s.events) / eventRate * 1000).rounded(.up)))
                }
                if requestRate > 0 { s.requests -= 1 }
                if eventRate > 0 { s.events -= need }
                return nil
            }
        }

        /// True when both buckets are full (the key has been quiet for a second or more).
        func isFull(now: UInt64) -> Bool {
            state.withLock { s in
                let elapsed = Double(now &- s.lastNanos) / 1e9
                return elapsed >= 1
            }
        }
    }

    /// nil when neither rate is limited.
    package init?(requestsPerSecond: Int, eventsPerSecond: Int) {
        guard requestsPerSecond > 0 || eventsPerSecond > 0 else { return nil }
        self.requestsPerSecond = max(0, requestsPerSecond)
        self.eventsPerSecond = max(0, eventsPerSecond)
    }

    /// The buckets of `key`, made on first use.
    package func buckets(for key: String) -> Buckets {
        let now = NIODeadline.now().uptimeNanoseconds
        return buckets.withLock { table in
            if let b = table[key] { return b }
            if table.count >= Self.maxKeys {
                table = table.filter { !$0.value.isFull(now: now) }
            }
            let b = Buckets(requestsPerSecond: requestsPerSecond, eventsPerSecond: eventsPerSecond, now: now)
            table[key] = b
            return b
        }
    }
}
