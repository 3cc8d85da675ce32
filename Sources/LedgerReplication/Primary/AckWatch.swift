import Synchronization

/// Whether a follower still acknowledges the records it is sent. A follower that stopped
/// (SIGSTOP, a hung disk, a network that drops its packets) keeps its TCP connection open
/// for as long as the kernel does (minutes), and a sync set member that does not ack holds
/// every answer of the primary while a caught-up follower waits outside the set. So the
/// primary ends a connection whose follower has had records outstanding (sent, not yet
/// acknowledged durable) for longer than a timeout without any ack progress: the member
/// leaves the set and a follower that holds every committed LSN replaces it. An idle
/// follower (nothing outstanding) is never timed out. A pure state machine (no clock).
struct AckWatch: Sendable, Equatable {
    /// The last LSN sent to the follower.
    private(set) var sentThrough: UInt64
    /// The highest durable LSN the follower acknowledged.
    private(set) var acked: UInt64
    /// Since when records have been outstanding without ack progress (nil: none outstanding).
    private(set) var waitingSince: Double?

    /// A follower whose log is durable through `acked` (its `hello`), nothing sent yet.
    init(acked: UInt64) {
        sentThrough = acked
        self.acked = acked
    }

    /// Records through `lsn` were sent at `now`.
    mutating func sent(through lsn: UInt64, at now: Double) {
        sentThrough = max(sentThrough, lsn)
        if sentThrough > acked, waitingSince == nil { waitingSince = now }
    }

    /// The follower acknowledged `lsn` durable at `now`.
    mutating func acknowledged(_ lsn: UInt64, at now: Double) {
        guard lsn > acked else { return }
        acked = lsn
        waitingSince = sentThrough > acked ? now : nil
        assert(waitingSince == nil || sentThrough > acked, "waiting only while records are outstanding")
    }

    /// True when records have been outstanding for more than `timeout` seconds with no ack.
    func stalled(at now: Double, timeout: Double) -> Bool {
        guard let since = waitingSince else { return false }
        return now - since > timeout
    }
}

/// An `AckWatch` shared by a follower connection's sender and its ack reader.
final class SharedAckWatch: Sendable {
    private let state: Mutex<AckWatch>

    init(acked: UInt64) { state = Mutex(AckWatch(acked: acked)) }

    func sent(through lsn: UInt64) { state.withLock { $0.sent(through: lsn, at: monotonicNow()) } }

    func acknowledged(_ lsn: UInt64) { state.withLock { $0.acknowledged(lsn, at: monotonicNow()) } }

    /// The outstanding range when stalled past `timeout` seconds, else nil.
    func stalled(timeout: Double) -> (acked: UInt64, sentThrough: UInt64)? {
        state.withLock { w in w.stalled(at: monotonicNow(), timeout: timeout) ? (w.acked, w.sentThrough) : nil }
    }
}
