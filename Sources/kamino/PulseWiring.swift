import LedgerEngine
import Logging
import Synchronization

/// Logs what each pulse attempt did: a logged pulse at debug, a failed one at warning
/// (at debug when the node just stopped being primary or is closing: expected races).
func pulseOutcomeLogger(_ logger: Logger) -> @Sendable (PulseScheduler.Outcome) -> Void {
    { outcome in
        switch outcome {
        case .pulsed:
            logger.debug("pulse logged: due pending transfers expired")
        case .notDue:
            logger.debug("pulse not logged: nothing was due any more")
        case .failed(let error):
            switch error.code {
            case .notPrimary, .closed: logger.debug("pulse refused", metadata: ["error": "\(error.message)"])
            default: logger.warning("pulse failed", metadata: ["error": "\(error.message)"])
            }
        }
    }
}

/// The pulse scheduler of whichever ledger a replicated node has open: started when a
/// ledger opens, stopped before it closes (the node reopens its ledger when its data
/// directory changes). The scheduler itself pulses only while the node is the primary.
final class PulseSlot: Sendable {
    private let current = Mutex<PulseScheduler?>(nil)
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Stops the scheduler of the previous ledger, then starts one for `ledger` (nil: none).
    func replace(_ ledger: DurableLedger?) async {
        let previous = current.withLock { c in
            defer { c = nil }
            return c
        }
        await previous?.stop()
        guard let ledger else { return }
        do {
            let scheduler = try PulseScheduler.start(ledger, onOutcome: pulseOutcomeLogger(logger))
            current.withLock { $0 = scheduler }
        } catch {
            // Only the thread can fail to start: writes still expire what is due.
            logger.error("pulse scheduler did not start: pending transfers expire only with writes",
                         metadata: ["error": "\(error)"])
        }
    }
}
