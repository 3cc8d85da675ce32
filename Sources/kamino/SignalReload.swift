import Dispatch
import Glibc
import KaminoAuth
import Logging

/// Runs `action` on each SIGHUP (`kill -HUP <pid>`) for as long as the returned source is
/// kept; the signal's default action (terminate) is disabled while it is.
func onHangup(_ action: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler(handler: action)
    source.resume()
    return source
}

/// What SIGHUP re-reads: the TLS certificates and the token verification keys (each
/// only when configured). Nil when there is nothing to reload (SIGHUP then keeps its
/// default action).
func reloadOnHangup(tls: NodeTLS?, keys: TokenKeyRing?, logger: Logger) -> (any DispatchSourceSignal)? {
    let keys = keys?.sources == nil ? nil : keys
    guard tls != nil || keys != nil else { return nil }
    return onHangup {
        tls?.reload(logger: logger)
        guard let keys else { return }
        do throws(AuthError) {
            if let fresh = try keys.reload() {
                logger.notice(
                    "auth: verification keys reloaded (new authentications use them)",
                    metadata: ["secret": "\(fresh.secret == nil ? 0 : 1)", "public_keys": "\(fresh.publicKeys.count)"])
            }
        } catch {
            logger.error("auth: key reload failed, the previous keys stay in use", metadata: ["error": "\(error.detail)"])
        }
    }
}
