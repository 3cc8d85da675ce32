import Dispatch
import Glibc

/// Runs `action` on each SIGHUP (`kill -HUP <pid>`) for as long as the returned source is
/// kept; the signal's default action (terminate) is disabled while it is.
func onHangup(_ action: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler(handler: action)
    source.resume()
    return source
}
