import Glibc
import Synchronization

/// The signal that asked `kamino cdc` to stop (SIGINT or SIGTERM), 0 while none arrived.
private let cdcCaughtSignal = Atomic<Int32>(0)

/// SIGINT and SIGTERM during `kamino cdc`: the first one stops the stream after the record
/// being printed (its lines are written whole) and the command exits 0; a second one ends
/// the process at once (exit 128 + the signal).
enum CdcSignal {
    /// Installs the handlers.
    static func install() {
        signal(SIGINT, handleCdcSignal)
        signal(SIGTERM, handleCdcSignal)
    }

    /// The signal that arrived, or nil.
    static var caught: Int32? {
        let s = cdcCaughtSignal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }
}

/// The handler: only async-signal-safe calls (an atomic, `_exit`).
private func handleCdcSignal(_ signal: Int32) {
    if cdcCaughtSignal.compareExchange(expected: 0, desired: signal, ordering: .relaxed).exchanged { return }
    _exit(128 + signal)
}
