package import Glibc
import Synchronization

/// The signal that interrupted the run (SIGINT or SIGTERM), 0 while none arrived.
private let caughtSignal = Atomic<Int32>(0)
/// Processes the bench started (its server and followers), killed if a second signal
/// forces the bench out before it could stop them itself.
private let childPids = InlineArray<8, Atomic<Int32>> { _ in Atomic(0) }

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP during a bench: the first one stops the run, which then
/// checks the money, prints the table, writes the outputs and exits 128 + the signal
/// (130 for Ctrl-C); a second one ends the bench at once (killing the servers it started).
/// The bench's own servers run in their own process group, so Ctrl-C at the terminal
/// reaches the bench only, and its server stays up for the money check.
package enum Interrupt {
    /// Installs the handlers (once per process).
    package static func install() {
        Glibc.signal(SIGINT, handle)
        Glibc.signal(SIGTERM, handle)
        // The terminal closing: the bench is in the foreground group, its servers are not.
        Glibc.signal(SIGHUP, handle)
    }

    /// The signal that arrived, or nil.
    package static var signal: Int32? {
        let s = caughtSignal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// `SIGINT`, `SIGTERM`, `SIGHUP` or `signal N`.
    package static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }

    /// Notes a child process to kill if the bench is forced out; false when all slots are taken.
    @discardableResult
    package static func register(child pid: pid_t) -> Bool {
        for i in childPids.indices where childPids[i].compareExchange(expected: 0, desired: pid, ordering: .relaxed).exchanged {
            return true
        }
        return false
    }

    /// Forgets a child that has been stopped.
    package static func unregister(child pid: pid_t) {
        for i in childPids.indices { _ = childPids[i].compareExchange(expected: pid, desired: 0, ordering: .relaxed) }
    }
}

/// The handler: only async-signal-safe calls (atomics, write, kill, _exit).
private func handle(_ signal: Int32) {
    if caughtSignal.compareExchange(expected: 0, desired: signal, ordering: .relaxed).exchanged {
        let note: StaticString = "\ninterrupted: stopping the run, then the report (again to quit at once)\n"
        _ = write(2, note.utf8Start, note.utf8CodeUnitCount)
        return
    }
    for i in childPids.indices {
        let pid = childPids[i].load(ordering: .relaxed)
        if pid > 0 { kill(pid, SIGKILL) }
    }
    _exit(128 + signal)
}
