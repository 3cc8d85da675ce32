import LedgerClient
import LedgerCore

/// Records and options shared by the client tests.
enum Fixtures {
    static func account(_ id: UInt128, flags: AccountFlags = []) -> Account {
        Account(id: id, ledger: 700, code: 10, flags: flags)
    }

    static func transfer(_ id: UInt128, from debit: UInt128, to credit: UInt128, amount: UInt128 = 10) -> Transfer {
        Transfer(id: id, debitAccountId: debit, creditAccountId: credit, amount: amount, ledger: 700, code: 10)
    }

    /// Short timeouts and quick retries, so that failure tests stay fast.
    static func options(
        timeout: Duration = .seconds(5), retry: RetryPolicy = RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(20)),
        breaker: CircuitBreakerPolicy = CircuitBreakerPolicy()
    ) -> KaminoClientOptions {
        KaminoClientOptions(requestTimeout: timeout, connectTimeout: .seconds(1), retry: retry, circuitBreaker: breaker)
    }

    /// The error code `body` throws, or nil when it does not throw.
    static func errorCode<T>(_ body: () async throws -> T) async -> KaminoClientError.Code? {
        do {
            _ = try await body()
            return nil
        } catch {
            return (error as? KaminoClientError)?.code
        }
    }

    /// The error `body` throws, or nil when it does not throw.
    static func failure<T>(_ body: () async throws(KaminoClientError) -> T) async -> KaminoClientError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }
}
