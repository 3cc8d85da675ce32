import Logging
import NIOCore
import Synchronization

/// The audit trail of security events (docs/security.md, "Audit"): every authentication
/// failure, refused right and limit hit, with the peer's address and the token's subject,
/// logged by swift-log under the label `kamino.audit` at `warning`.
///
/// Rate-limited, so that a flood of bad clients cannot flood the log: at most
/// `linesPerSecond` lines a second; the lines dropped are counted and reported by the
/// next line logged (`suppressed`). Metrics count every event regardless.
final class AuditLog: Sendable {
    private let logger: Logger
    private let linesPerSecond: Int
    private let window = Mutex(Window())

    private struct Window {
        var second: Int64 = 0
        var logged = 0
        var suppressed = 0
    }

    init(logger: Logger = Logger(label: "kamino.audit"), linesPerSecond: Int = 20) {
        precondition(linesPerSecond > 0, "an audit log logs something")
        self.logger = logger
        self.linesPerSecond = linesPerSecond
    }

    /// Records `event` (`auth_failed`, `forbidden`, `limit`) from `peer`.
    func record(_ event: String, peer: String, subject: String?, detail: String) {
        let now = NIODeadline.now().uptimeNanoseconds / 1_000_000_000
        let suppressed: Int? = window.withLock { w in
            if Int64(now) != w.second {
                w.second = Int64(now)
                w.logged = 0
            }
            guard w.logged < linesPerSecond else {
                w.suppressed += 1
                return nil
            }
            w.logged += 1
            defer { w.suppressed = 0 }
            return w.suppressed
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = ["event": "\(event)", "peer": "\(peer)", "subject": "\(subject ?? "-")"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning("security: \(event): \(detail)", metadata: metadata)
    }
}
