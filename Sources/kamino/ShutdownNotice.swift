import Logging
import ServiceLifecycle

/// Announces that the server serves, then logs the start of a graceful shutdown (SIGTERM
/// or SIGINT). Listed last among a `ServiceGroup`'s services, it is told first, before the
/// others stop in reverse order.
///
/// Why the announcement is here: the group traps SIGTERM and SIGINT before it starts any
/// service, so a supervisor (or a test) that sends SIGTERM as soon as it reads `listening
/// on` gets a graceful shutdown. Announced before `run()`, such a signal found the default
/// action still in place and killed the process without closing the log.
struct ShutdownNotice: Service {
    let logger: Logger
    /// The line to print once the signals are trapped (nil: announced elsewhere).
    var announcement: String? = nil

    func run() async throws {
        if let announcement { announce(announcement) }
        // Returns when the group shuts down gracefully (throws if cancelled instead).
        try await gracefulShutdown()
        logger.notice("shutting down: no new connections; in-flight batches drain, then the log closes")
    }
}
