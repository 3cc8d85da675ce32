import Logging
import ServiceLifecycle

/// Logs the start of a graceful shutdown (SIGTERM or SIGINT). Listed last among a
/// `ServiceGroup`'s services, it is told first, before the others stop in reverse order.
struct ShutdownNotice: Service {
    let logger: Logger

    func run() async throws {
        // Returns when the group shuts down gracefully (throws if cancelled instead).
        try await gracefulShutdown()
        logger.notice("shutting down: no new connections; in-flight batches drain, then the log closes")
    }
}
