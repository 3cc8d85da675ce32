import KaminoAuth
import KaminoTLS
import LedgerCore
import LedgerWire
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One connection's authentication and limits, on its event loop (owned by its
/// `SessionHandler`): the principal once `authenticate` succeeded, the frame and idle
/// deadlines, the request bytes in flight and the rate buckets.
///
/// `gate` decides on every decoded request before the session admits it; the handler
/// reports requests started and finished, bytes read and decoded frames.
final class SessionSecurity {
    private let shared: SecurityShared
    private let peer: String
    /// nil until authenticated (authentication on); every right when it is off.
    private(set) var principal: Principal? {
        didSet { unrestricted = Self.isUnrestricted(principal) }
    }
    /// True while `principal` has every right, every ledger and no expiry (authentication
    /// off, or such a token): `RequestGate.check` allows all it could send and nothing
    /// expires, so `gate` checks only the limits (and copies no `Principal` per request).
    private var unrestricted = false
    private var buckets: RateLimiter.Buckets?
    private var frameDeadline: Scheduled<Void>?
    private var idleDeadline: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()
    /// Frames decoded so far (a frame deadline that sees progress is re-armed).
    private var framesDecoded = 0
    private var requestsInFlight = 0
    private var requestBytesInFlight = 0
    /// Closes the connection with an error reply (set by the handler).
    private var onTimeout: ((ErrorReply) -> Void)?

    /// What the handler does with a decoded request.
    enum Outcome {
        /// Run it; `scope` is set for a ledger-limited token (reads go through `ScopedReads`).
        case proceed(scope: Principal?)
        /// Answer with this error reply (the handler stops reading when its code closes the connection).
        case refuse(ErrorReply)
        /// Answer with this reply (a successful `authenticate`).
        case answer(Message)
    }

    init(shared: SecurityShared, peer: String) {
        self.shared = shared
        self.peer = peer
        if !shared.settings.authenticationRequired {
            principal = .unauthenticated
            unrestricted = Self.isUnrestricted(principal)  // no `didSet` in an initializer
            // With authentication off the rate is per client address.
            buckets = shared.rates?.buckets(for: "address:" + peer)
        }
    }

    /// True once the connection may send requests.
    var isAuthenticated: Bool { principal != nil }

    /// The connection is active: arm the idle deadline, and with authentication on the
    /// first-frame deadline (`authenticate` must come at once). With authentication off a
    /// connection that has sent nothing yet is idle, not slow: a client may open its
    /// connections before it has requests (the idle timeout and the connection caps bound
    /// them); a started message still has `frameTimeoutSeconds` to complete.
    func opened(context: ChannelHandlerContext, onTimeout: @escaping (ErrorReply) -> Void) {
        self.onTimeout = onTimeout
        lastActivity = .now()
        if shared.settings.authenticationRequired {
            armFrameDeadline(context: context, seenFrames: framesDecoded)
        }
        armIdleDeadline(context: context, at: lastActivity + .seconds(Int64(shared.settings.idleTimeoutSeconds)))
    }

    /// The connection closed: cancel the deadlines.
    func closed() {
        frameDeadline?.cancel()
        frameDeadline = nil
        idleDeadline?.cancel()
        idleDeadline = nil
        onTimeout = nil
    }

    /// Bytes were read and decoded; `partial` when part of a frame is still buffered.
    func afterRead(partial: Bool, context: ChannelHandlerContext) {
        lastActivity = .now()
        if partial {
            if frameDeadline == nil { armFrameDeadline(context: context, seenFrames: framesDecoded) }
        } else if framesDecoded > 0 {
            frameDeadline?.cancel()
            frameDeadline = nil
        }
    }

    /// A request was admitted and runs.
    func started(_ request: Request) {
        requestsInFlight += 1
        requestBytesInFlight += Self.frameSize(request)
    }

    /// A started request's reply is written (or dropped).
    func finished(_ request: Request) {
        requestsInFlight -= 1
        requestBytesInFlight -= Self.frameSize(request)
        assert(requestsInFlight >= 0 && requestBytesInFlight >= 0, "finished more requests than started")
        lastActivity = .now()
    }

    /// The TLS handler failed the connection: counted by reason, and audited unless the
    /// peer merely closed without close_notify after it had authenticated (a client that
    /// exits does that; it is no attack).
    func tlsFailed(_ error: TLSError) {
        shared.metrics.tlsFailed(reason: error.code.metricLabel)
        if error.code == .truncated && principal != nil && framesDecoded > 0 { return }
        shared.audit.record("tls_failed", peer: peer, subject: principal?.subject, detail: error.description)
    }

    /// Decides on a decoded request (authenticate, rights, rate, bytes in flight).
    func gate(_ request: Request, id: UInt64) -> Outcome {
        framesDecoded += 1
        if case .authenticate(let token) = request { return authenticate(token, id: id) }
        if unrestricted {
            assert(principal.map { RequestGate.check(request, principal: $0) == .allow } == true, "an unrestricted principal is allowed everything")
            return limits(request, id: id) ?? .proceed(scope: nil)
        }
        guard let principal else {
            shared.metrics.authenticationFailed(reason: "not_authenticated")
            shared.audit.record("auth_failed", peer: peer, subject: nil, detail: "a request before authenticate")
            return .refuse(error(.unauthenticated, id, request, "authenticate first (operation 203, docs/protocol.md)"))
        }
        // `now - leeway` cannot overflow (both small); `expiry + leeway` could (a token's exp is input).
        // `shared.settings` is read field by field: a local copy of the whole struct costs a
        // copy and a destroy per request.
        if let expiry = principal.expiresAt, let leeway = shared.settings.verifier?.leewaySeconds, Self.now() - leeway > expiry {
            self.principal = nil
            shared.metrics.authenticationFailed(reason: "expired")
            shared.audit.record("auth_failed", peer: peer, subject: principal.subject, detail: "the token expired during the connection")
            return .refuse(error(.unauthenticated, id, request, "the token expired; reconnect and authenticate again"))
        }
        if case .forbid(let right, let detail) = RequestGate.check(request, principal: principal) {
            shared.metrics.forbidden(right: right)
            shared.audit.record("forbidden", peer: peer, subject: principal.subject, detail: "operation \(request.code): \(detail)")
            return .refuse(error(.forbidden, id, request, detail))
        }
        if let refused = limits(request, id: id) { return refused }
        return .proceed(scope: principal.ledgers == nil ? nil : principal)
    }

    /// The rate and request-bytes limits of an authenticated request: its refusal, or nil.
    private func limits(_ request: Request, id: UInt64) -> Outcome? {
        if let buckets, let (limit, waitMs) = buckets.take(events: request.eventCount, now: NIODeadline.now().uptimeNanoseconds) {
            shared.metrics.limitHit(limit)
            shared.audit.record("limit", peer: peer, subject: principal?.subject, detail: "\(limit.rawValue): retry in \(waitMs) ms")
            return .refuse(error(.rateLimited, id, request, "\(limit.rawValue) exhausted; not executed; retry in \(waitMs) ms"))
        }
        let size = Self.frameSize(request)
        if requestsInFlight > 0 && requestBytesInFlight + size > shared.settings.maxRequestBytesInFlightPerConnection {
            shared.metrics.limitHit(.requestBytesInFlight)
            shared.audit.record("limit", peer: peer, subject: principal?.subject, detail: "request bytes in flight: \(requestBytesInFlight)")
            return .refuse(error(.busy, id, request, "\(requestBytesInFlight) request bytes in flight on this connection; retry later"))
        }
        return nil
    }

    /// See `unrestricted`.
    private static func isUnrestricted(_ principal: Principal?) -> Bool {
        guard let p = principal else { return false }
        return p.rights == .all && p.ledgers == nil && p.expiresAt == nil
    }

    private func authenticate(_ token: [UInt8], id: UInt64) -> Outcome {
        guard let verifier = shared.settings.verifier else {
            // Authentication off: a client that presents a token is welcome; it changes nothing.
            return .answer(.reply(id: id, .authenticate(Self.json(.unauthenticated, auth: "off")), stateLSN: 0))
        }
        do {
            let verified = try verifier.verify(token, now: Self.now())
            principal = verified
            buckets = shared.rates?.buckets(for: "subject:" + verified.issuer + "|" + verified.subject)
            shared.metrics.authenticationSucceeded()
            return .answer(.reply(id: id, .authenticate(Self.json(verified, auth: "jwt")), stateLSN: 0))
        } catch {
            principal = nil
            shared.metrics.authenticationFailed(reason: error.code.rawValue)
            shared.audit.record(
                "auth_failed", peer: peer, subject: TokenVerifier.unverifiedSubject(token), detail: "\(error.code.rawValue): \(error.detail)")
            return .refuse(ErrorReply(
                requestId: id, operation: AdminOperation.authenticate.rawValue,
                rawCode: WireError.Code.unauthenticated.rawValue, message: "token refused: \(error.code.rawValue)"))
        }
    }

    private func error(_ code: WireError.Code, _ id: UInt64, _ request: Request, _ message: String) -> ErrorReply {
        ErrorReply(requestId: id, operation: request.code, rawCode: code.rawValue, message: message)
    }

    /// A frame the decoder rejected: a bad peer, audited (`event=bad_frame`, rate-limited
    /// like every audit line). Returns true when the connection closes for it too (an
    /// error before authentication does).
    func decodeFailed(_ error: WireError) -> Bool {
        shared.audit.record("bad_frame", peer: peer, subject: principal?.subject,
                            detail: ServerMetrics.snakeCase("\(error.code)") + ": \(error.detail)")
        return principal == nil
    }

    /// The bytes `request` took on the wire (header and body).
    static func frameSize(_ request: Request) -> Int {
        switch request {
        case .lookupAccounts(let ids), .lookupTransfers(let ids): return WireLimits.headerSize + ids.count * 16
        case .getAccountTransfers, .getAccountBalances: return WireLimits.headerSize + 128
        case .queryAccounts, .queryTransfers: return WireLimits.headerSize + 64
        case .createAccounts(let a): return WireLimits.headerSize + a.count * 128
        case .createTransfers(let t): return WireLimits.headerSize + t.count * 128
        case .authenticate(let token): return WireLimits.headerSize + token.count
        case .status, .promote, .digest: return WireLimits.headerSize
        }
    }

    /// Wall-clock seconds (token times are wall-clock).
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// The `authenticate` reply: `{"auth":"jwt","subject":...,"rights":[...],"ledgers":[...]|null,"expires_at":N|null}`.
    static func json(_ p: Principal, auth: String) -> [UInt8] {
        func quoted(_ s: String) -> String {
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let rights = Rights.names.filter { p.rights.contains($0.1) }.map { quoted($0.0) }.joined(separator: ",")
        let ledgers = p.ledgers.map { "[" + $0.sorted().map(String.init).joined(separator: ",") + "]" } ?? "null"
        let expires = p.expiresAt.map(String.init) ?? "null"
        let text = "{\"auth\":\(quoted(auth)),\"subject\":\(quoted(p.subject)),\"rights\":[\(rights)],\"ledgers\":\(ledgers),\"expires_at\":\(expires)}"
        return Array(text.utf8)
    }

    // MARK: deadlines

    private func armFrameDeadline(context: ChannelHandlerContext, seenFrames: Int) {
        let seconds = shared.settings.frameTimeoutSeconds
        guard seconds > 0 else { return }
        frameDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Int64(seconds))) {
            self.frameDeadline = nil
            // Progress (a frame completed since arming), or the server busy with this
            // connection's requests (it may have stopped reading): not the client's fault.
            if self.framesDecoded > seenFrames || self.requestsInFlight > 0 {
                self.armFrameDeadline(context: context, seenFrames: self.framesDecoded)
                return
            }
            let first = self.framesDecoded == 0
            self.shared.metrics.limitHit(.frameTimeout)
            self.shared.audit.record(
                "limit", peer: self.peer, subject: self.principal?.subject,
                detail: "frame_timeout: no complete \(first ? "first " : "")message in \(seconds) s")
            self.onTimeout?(ErrorReply(
                requestId: 0, operation: 0, rawCode: WireError.Code.timedOut.rawValue,
                message: "no complete \(first ? "first " : "")message within \(seconds) s"))
        }
    }

    private func armIdleDeadline(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let seconds = shared.settings.idleTimeoutSeconds
        guard seconds > 0 else { return }
        idleDeadline = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.idleDeadline = nil
            let due = self.lastActivity + .seconds(Int64(seconds))
            if due > .now() || self.requestsInFlight > 0 {
                self.armIdleDeadline(context: context, at: max(due, .now() + .seconds(1)))
                return
            }
            self.shared.metrics.limitHit(.idleTimeout)
            self.shared.audit.record("limit", peer: self.peer, subject: self.principal?.subject, detail: "idle_timeout: silent for \(seconds) s")
            self.onTimeout?(ErrorReply(
                requestId: 0, operation: 0, rawCode: WireError.Code.timedOut.rawValue, message: "idle for \(seconds) s"))
        }
    }
}

extension TLSError.Code {
    /// The `reason` label of `kamino_tls_failures_total`.
    var metricLabel: String {
        switch self {
        case .configuration: "configuration"
        case .handshakeFailed: "handshake_failed"
        case .plaintextPeer: "plaintext_peer"
        case .protocolError: "protocol_error"
        case .truncated: "truncated"
        }
    }
}
