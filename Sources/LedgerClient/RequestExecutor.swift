import LedgerCore
import LedgerWire
import Logging

/// Sends one request with retries: on a timeout, a lost connection, `busy` or
/// `shutting_down`, waits an exponential backoff with jitter and resends it (on a new
/// connection if needed).
///
/// A create containing a `linked` event is not resent after a failure that happened
/// once it was written (a timeout, a connection lost while awaiting the reply): it may
/// have been applied, and a resend would answer `exists` / `linked_event_failed` for a
/// committed chain. Such a failure is reported as `outcomeUnknown`. Failures before the
/// request was written (connect failure, `busy`, `shutting_down`) are resent as usual.
struct RequestExecutor: Sendable {
    let connections: ConnectionManager
    let options: KaminoClientOptions
    let logger: Logger

    /// The reply to `request`, or the error of its last attempt.
    func execute(_ request: Request) async -> Result<Reply, KaminoClientError> {
        let linked = Self.hasLinkedEvent(request)
        var attempt = 1
        while true {
            let result = await attemptOnce(request)
            guard case .failure(let error) = result, error.isRetryable else { return result }
            if linked && error.mayHaveExecuted {
                return .failure(
                    KaminoClientError(
                        .outcomeUnknown,
                        "a create with linked events may have been applied (\(error.message)); look its ids up before resending"
                    ))
            }
            guard attempt < options.retry.maxAttempts else { return result }
            logger.debug("retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            do {
                try await options.clock.sleep(for: options.retry.delay(beforeRetry: attempt))
            } catch {
                return .failure(KaminoClientError(.cancelled, "cancelled while waiting to retry after: \(error)"))
            }
            attempt += 1
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

    private func attemptOnce(_ request: Request) async -> Result<Reply, KaminoClientError> {
        // A cancelled caller's request is not sent (lanes run on their own tasks and
        // handle their callers' cancellation themselves).
        if Task.isCancelled { return .failure(KaminoClientError(.cancelled, "cancelled before the request was sent")) }
        let connection: Connection
        do throws(KaminoClientError) {
            connection = try await connections.connection()
        } catch {
            return .failure(error)
        }
        do throws(KaminoClientError) {
            return .success(try await connection.send(request, timeout: options.requestTimeout))
        } catch {
            // A server that does not answer in time may be stopped or cut off: stop using
            // this connection so that the next attempt reconnects (to the next address).
            if error.code == .timeout { await connections.retire(connection) }
            return .failure(error)
        }
    }
}
