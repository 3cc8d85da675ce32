import ServiceLifecycle

/// The ledger as a service of a `ServiceGroup`: it runs until graceful shutdown (or
/// cancellation), then closes. A group shuts its services down in reverse order, so list
/// the ledger before the servers that use it: they drain their in-flight batches first,
/// then the ledger closes its log.
extension DurableLedger: Service {
    package func run() async {
        // Throws only when the task is cancelled: close then too.
        try? await gracefulShutdown()
        await close()
    }
}
