#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where batch timestamps come from: nanoseconds since the Unix epoch. The sequencer
/// makes them strictly increasing whatever the clock does, and logs them, so replay
/// never reads a clock.
package protocol BatchClock: Sendable {
    func nanosecondsSinceEpoch() -> UInt64
}

/// The system's real-time clock.
package struct WallClock: BatchClock {
    package init() {}
    package func nanosecondsSinceEpoch() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(ts.tv_sec, 0)) &* 1_000_000_000 &+ UInt64(max(ts.tv_nsec, 0))
    }
}
