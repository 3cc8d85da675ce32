import Dispatch
import LedgerClient
import LedgerCore
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Keeps every message logged through it, for tests.
final class RecordingLogHandler: LogHandler, Sendable {
    private let lines = Mutex<[String]>([])
    var messages: [String] { lines.withLock { $0 } }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        lines.withLock { $0.append("\(event.message)") }
    }
}

/// A group that hands out its inner group's loops and counts how often it was asked:
/// shows that a client takes its loops from the group it was given, not from NIO's
/// shared one.
final class CountingEventLoopGroup: EventLoopGroup, Sendable {
    let inner: MultiThreadedEventLoopGroup
    private let asked = Mutex(0)
    var loopsHandedOut: Int { asked.withLock { $0 } }

    init(_ inner: MultiThreadedEventLoopGroup) { self.inner = inner }

    func next() -> any EventLoop {
        asked.withLock { $0 += 1 }
        return inner.next()
    }

    func any() -> any EventLoop {
        asked.withLock { $0 += 1 }
        return inner.any()
    }

    func makeIterator() -> EventLoopIterator { inner.makeIterator() }

    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        inner.shutdownGracefully(queue: queue, callback)
    }
}

/// Server error codes, injected event loops and loggers, and cancelled callers.
@Suite(.timeLimit(.minutes(1))) struct LifecycleTests {
    @Test func serverErrorCodesHaveNamesAndKeepUnknownValues() {
        #expect(ServerErrorCode(rawValue: 12) == .busy)
        #expect(ServerErrorCode(rawValue: 13) == .shuttingDown)
        #expect(ServerErrorCode.busy.isRetryable && ServerErrorCode.shuttingDown.isRetryable)
        #expect(!ServerErrorCode.internalError.isRetryable && !ServerErrorCode.batchRefused.isRetryable)
        #expect("\(ServerErrorCode.shuttingDown)" == "shutting_down")
        #expect(ServerErrorCode(rawValue: 999).rawValue == 999 && "\(ServerErrorCode(rawValue: 999))" == "999")
        // The names of docs/protocol.md, "Error replies".
        let names = [
            "bad_magic", "unsupported_version", "bad_header_checksum", "frame_too_large", "truncated_frame",
            "invalid_header", "bad_body_checksum", "unknown_operation", "bad_body_size", "too_many_events",
            "invalid_body", "busy", "shutting_down", "internal_error", "batch_refused",
        ]
        #expect((1...15).map { ServerErrorCode(rawValue: UInt16($0)).description } == names)
        #expect(ServerErrorCode.batchRefused.rawValue == 15 && ServerErrorCode.badMagic.rawValue == 1)
        #expect(ServerErrorCode.logUnavailable.rawValue == 19 && "\(ServerErrorCode.logUnavailable)" == "log_unavailable")
        #expect(!ServerErrorCode.logUnavailable.isRetryable)
    }

    @Test func anErrorReplyArrivesAsANamedCode() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        // A long timeout: a loaded test machine must not turn the held reply into a timeout.
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(timeout: .seconds(120), retry: .none))
        server.state.setBehavior(.holdUntilReleased(firstErrorCode: 14))
        let call = Task { await Fixtures.errorCode { try await client.lookupAccounts([1]) } }
        await server.state.waitForRequests(.lookupAccounts, count: 1)
        server.state.releaseHeld()
        #expect(await call.value == .serverError(.internalError))
        await client.close()
    }

    @Test func usesTheInjectedEventLoopGroupAndLogger() async throws {
        let group = CountingEventLoopGroup(MultiThreadedEventLoopGroup(numberOfThreads: 1))
        let server = try await FakeServer.start()
        let handler = RecordingLogHandler()
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(), eventLoopGroup: group,
            logger: Logger(label: "test", factory: { _ in handler }))
        #expect(group.loopsHandedOut == 0, "connects lazily")
        #expect(try await client.createAccounts([Fixtures.account(1)]).map(\.status) == [.created])
        #expect(handler.messages.contains("connected"))
        // Its one connection runs on a loop of the given group.
        #expect(group.loopsHandedOut == 1)
        await client.close()
        await server.stop()
        // The client runs on the group it was given: shutting the group down ends its
        // connections, and the client never shut the group down itself.
        try await group.shutdownGracefully()
    }

    @Test func cancelledCallersAreResumedAndAQueuedCallIsNeverSent() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        // A request timeout far beyond the test: on a loaded machine the held request must
        // not time out and be retried (that frees the lane, and the queued call goes out).
        let client = try KaminoClient(addresses: [server.address], options: Fixtures.options(timeout: .seconds(300)))
        server.state.setBehavior(.holdUntilReleased(firstErrorCode: nil))

        // In flight (their replies are held): as many as the lane sends before calls queue.
        // Cancelling resumes the callers at once.
        let direct = KaminoClient.directRequestsPerOperation
        var inFlight: [Task<KaminoClientError.Code?, Never>] = []
        for i in 1...direct {
            inFlight.append(Task { await Fixtures.errorCode { try await client.createAccounts([Fixtures.account(UInt128(i))]) } })
            await server.state.waitForRequests(.createAccounts, count: i)
        }
        // Queued behind them in the same lane: cancelled before it is ever sent.
        let queuedId = UInt128(direct + 1)
        let queued = Task { await Fixtures.errorCode { try await client.createAccounts([Fixtures.account(queuedId)]) } }
        try await Task.sleep(for: .milliseconds(50))
        queued.cancel()
        #expect(await queued.value == .cancelled)
        for task in inFlight {
            task.cancel()
            #expect(await task.value == .cancelled)
        }

        // Releasing the held replies sends nothing further: the queued account was never sent.
        server.state.setBehavior(.normal)
        server.state.releaseHeld()
        #expect(try await client.lookupAccounts((1...queuedId).map { $0 }).map(\.id) == (1..<queuedId).map { $0 })
        #expect(server.state.requests(.createAccounts) == direct)

        // A task cancelled before it calls sends nothing either.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await Fixtures.errorCode { try await client.createAccounts([Fixtures.account(3)]) }
        }
        #expect(await early.value == .cancelled)
        #expect(server.state.requests(.createAccounts) == direct)
        await client.close()
    }
}
