/// What the log tells its health listener (`WALWriter.onHealth`), on the writer thread:
/// keep the listener short (hand over to a task), never block it.
///
/// After a failed write the log refuses appends and fails every record not yet durable
/// (`failed`); the writer thread then cuts whatever it wrote after the durable point
/// (`cut`), waits until its owner has rolled its state back to that point
/// (`WALWriter.permitResume`), probes with backoff until it can write again, and then
/// accepts appends again (`resumed`), handing out LSNs from the durable point + 1.
package enum WALHealth: Sendable {
    /// A write or flush failed (`.noSpace`, `.io`): appends are refused once the listener
    /// returns (it hears of the failure before any append is refused or waiter fails).
    case failed(WALError)
    /// The failed tail is cut: the directory holds exactly the records up to
    /// `durableLSN`, and nothing more is written until `permitResume`. `timeline` is
    /// the log's timeline from now on.
    case cut(durableLSN: UInt64, timeline: UInt64)
    /// The probe wrote: appends are accepted again, from `durableLSN` + 1.
    case resumed(durableLSN: UInt64)
}

/// Where the writer is in its way back from a failure.
enum WALRecoveryPhase: Sendable, Equatable {
    /// Writable (no failure).
    case none
    /// Cutting the failed tail.
    case cutting
    /// The tail is cut; waiting for `permitResume`.
    case cut
    /// Permitted: probing until a write succeeds.
    case probing
}
