import LedgerCore
import LedgerWire
import Logging
import NIOCore

/// Sends one request with retries: on a timeout, a lost connection, `busy`,
/// `shutting_down`, `not_primary` or `replication_timeout`, waits an exponential backoff
/// with jitter and resends it (on a new connection if needed). A `not_primary` naming the
/// primary redirects the connection there and resends at once.
///
/// A create containing a `linked` event is not resent after a failure that happened
/// once it was written (a timeout, a connection lost while awaiting the reply,
/// `replication_timeout`): it may have been applied, and a resend would answer
/// `exists` / `linked_event_failed` for a committed chain. Such a failure is reported as
/// `outcomeUnknown`. Failures before the request was executed (connect failure, `busy`,
/// `shutting_down`, `not_primary`) are resent as usual.
///
/// With `ReadPreference.followers`, lookups and queries first go to the follower
/// connection; a failure there, or a reply staler than the bound allows, sends the read
/// to the primary.
struct RequestExecutor: Sendable {
    /// The connection to the primary (writes, and reads by default).
    let connections: ConnectionManager
    /// The connection reads use with `ReadPreference.followers`.
    let readConnections: ConnectionManager?
    let options: KaminoClientOptions
    let logger: Logger
    /// The highest `state_lsn` of every reply received.
    let lsn: LSNTracker
    /// `options.requestTimeout` in the event loop's unit, converted once (the conversion
    /// from `Duration` costs about 190 instructions).
    let requestTimeout: TimeAmount

    init(
        connections: ConnectionManager, readConnections: ConnectionManager?, options: KaminoClientOptions,
        logger: Logger, lsn: LSNTracker
    ) {
        self.connections = connections
        self.readConnections = readConnections
        self.options = options
        self.logger = logger
        self.lsn = lsn
        self.requestTimeout = .nanoseconds(options.requestTimeout.nanoseconds)
    }

    // `execute`, `executeAnswered`, `executeOnPrimary`, `attemptOnce`, `BatchLane.submit`
    // and `Connection.send` are inlined into each other: one async frame for the chain
    // instead of six (each costs a task-frame allocation and an executor check on entry and
    // after every call it awaits, about 1,000 instructions per request in all).

    /// The reply to `request`, or the error of its last attempt.
    @inline(__always)
    func execute(_ request: Request) async -> Result<Reply, KaminoClientError> {
        await executeAnswered(request).map { $0.reply }
    }

    /// The reply to `request` with its `state_lsn`, or the error of its last attempt.
    @inline(__always)
    func executeAnswered(_ request: Request) async -> Result<AnsweredReply, KaminoClientError> {
        if case .followers(let maxLag) = options.readPreference, Self.isRead(request), let readConnections {
            switch await attemptOnce(request, on: readConnections) {
            case .success(let answer):
                if lsn.isFresh(answer.stateLSN, maxLag: maxLag) {
                    lsn.observe(answer.stateLSN)
                    return .success(answer)
                }
                logger.debug(
                    "stale follower read; asking the primary",
                    metadata: ["state_lsn": "\(answer.stateLSN)", "highest_seen": "\(lsn.value)"])
            case .failure(let error):
                if error.code == .cancelled { return .failure(error) }
                logger.debug("follower read failed; asking the primary", metadata: ["error": "\(error)"])
            }
        }
        return await executeOnPrimary(request)
    }

    @inline(__always)
    private func executeOnPrimary(_ request: Request) async -> Result<AnsweredReply, KaminoClientError> {
        let linked = Self.hasLinkedEvent(request)
        var attempt = 1
        // Whether an earlier attempt may have been executed: the caller's error says so
        // whatever the last attempt's failure was.
        var sentBefore = false
        while true {
            var result = await attemptOnce(request, on: connections)
            if case .success(let answer) = result { lsn.observe(answer.stateLSN) }
            if sentBefore { result = result.mapError { $0.afterSending() } }
            guard case .failure(let error) = result, error.isRetryable else { return result }
            sentBefore = error.mayHaveExecuted
            if linked && error.mayHaveExecuted {
                return .failure(
                    KaminoClientError(
                        .outcomeUnknown,
                        "a create with linked events may have been applied (\(error.message)); look its ids up before resending"
                    ))
            }
            guard attempt < options.retry.maxAttempts else { return result }
            attempt += 1
            // A redirect to a named primary is resent at once: nothing was executed.
            if error.code == .serverError(.notPrimary), error.primaryAddress != nil { continue }
            logger.debug("retrying", metadata: ["attempt": "\(attempt - 1)", "error": "\(error)"])
            do {
                try await options.clock.sleep(for: options.retry.delay(beforeRetry: attempt - 1))
            } catch {
                let cancelled = KaminoClientError(.cancelled, "cancelled while waiting to retry after: \(error)")
                return .failure(sentBefore ? cancelled.afterSending() : cancelled)
            }
        }
    }

    /// True when `request` is a create with at least one `linked` event.
    static func hasLinkedEvent(_ request: Request) -> Bool {
        switch request {
        case .createAccounts(let accounts): return accounts.contains { $0.flags.contains(.linked) }
        case .createTransfers(let transfers): return transfers.contains { $0.flags.contains(.linked) }
        default: return false
        }
    }

    /// True for lookups and queries (what a follower may answer).
    static func isRead(_ request: Request) -> Bool {
        switch request {
        case .lookupAccounts, .lookupTransfers, .getAccountTransfers, .getAccountBalances, .queryAccounts,
            .queryTransfers:
            return true
        case .createAccounts, .createTransfers, .status, .promote, .digest, .authenticate:
            return false
        }
    }

    @inline(__always)
    private func attemptOnce(_ request: Request, on connections: ConnectionManager) async -> Result<
        AnsweredReply, KaminoClientError
    > {
        // A cancelled caller's request is not sent (merged batches run on their own tasks,
        // and their lanes handle their callers' cancellation themselves).
        if Task.isCancelled { return .failure(KaminoClientError(.cancelled, "cancelled before the request was sent")) }
        let connection: Connection
        if let ready = connections.readyConnection() {
            connection = ready
        } else {
            do throws(KaminoClientError) {
                connection = try await connections.connection()
            } catch {
                return .failure(error)
            }
        }
        let result = await connection.send(request, timeout: requestTimeout)
        if case .failure(let error) = result {
            // A server that does not answer in time may be stopped or cut off: stop using
            // this connection so that the next attempt reconnects (to the next address).
            if error.code == .timeout { await connections.retire(connection) }
            if error.code == .serverError(.notPrimary) {
                if let named = error.primaryAddress, let primary = try? ServerAddress(named) {
                    await connections.redirect(to: primary)
                } else {
                    await connections.skip(connection)
                }
            }
        }
        return result
    }
}
