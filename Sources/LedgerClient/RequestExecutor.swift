import LedgerWire

/// Sends one request with retries: on a timeout, a lost connection, or `busy`, waits an
/// exponential backoff with jitter and resends it (on a new connection if needed).
struct RequestExecutor: Sendable {
    let connections: ConnectionManager
    let options: KaminoClientOptions

    /// The reply to `request`, or the error of its last attempt.
    func execute(_ request: Request) async -> Result<Reply, KaminoClientError> {
        var attempt = 1
        while true {
            let result = await attemptOnce(request)
            guard case .failure(let error) = result, error.isRetryable, attempt < options.retry.maxAttempts else {
                return result
            }
            do {
                try await Task.sleep(for: options.retry.delay(beforeRetry: attempt))
            } catch {
                return .failure(KaminoClientError(.cancelled, "cancelled while waiting to retry after: \(error)"))
            }
            attempt += 1
        }
    }

    private func attemptOnce(_ request: Request) async -> Result<Reply, KaminoClientError> {
        do throws(KaminoClientError) {
            let connection = try await connections.connection()
            return .success(try await connection.send(request, timeout: options.requestTimeout))
        } catch {
            return .failure(error)
        }
    }
}
