import KaminoTLS
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Owns one connection of a client (the one to the primary, or the one reads use with
/// `ReadPreference.followers`): opens it on demand, fails over through the address
/// list, follows `not_primary` redirects, and guards connection attempts with the
/// circuit breaker.
///
/// A request finds the open connection without a hop to the actor (`readyConnection`);
/// only opening one, and the failure paths, go through it.
actor ConnectionManager {
    /// The cluster's addresses; a primary named by a redirect is appended when absent.
    private var addresses: [ServerAddress]
    private let connectTimeout: Duration
    /// Presented on every connection opened (`KaminoClientOptions.token`).
    private let token: KaminoToken?
    private let requestTimeout: Duration
    private let group: any EventLoopGroup
    private let logger: Logger
    private var breaker: CircuitBreaker
    /// The time the breaker's cool-down is measured in.
    private let clock: ClientClock
    private var current: Connection? {
        didSet { ready.withLock { $0 = current } }
    }
    /// A copy of `current`, read by requests without a hop to the actor.
    private nonisolated let ready = Mutex<Connection?>(nil)
    /// The connection attempt in progress, shared by every request that needs it.
    private var connecting: Task<Result<Connection, KaminoClientError>, Never>?
    /// Where the next connection attempt starts: the last address that worked, or the
    /// one after it once a request on it timed out.
    private var nextAddress = 0
    private(set) var isClosed = false
    /// The TLS context of every connection (nil: plaintext), or why it could not be made.
    private let tls: Result<TLSContext, TLSError>?

    /// - Parameter startIndex: the address tried first (reads on followers start after
    ///   the first address).
    init(
        addresses: [ServerAddress], options: KaminoClientOptions, group: any EventLoopGroup, logger: Logger,
        startIndex: Int = 0
    ) {
        precondition(!addresses.isEmpty, "a client has at least one address")
        self.addresses = addresses
        self.nextAddress = startIndex % addresses.count
        self.connectTimeout = options.connectTimeout
        self.token = options.token
        self.requestTimeout = options.requestTimeout
        self.group = group
        self.logger = logger
        self.breaker = CircuitBreaker(policy: options.circuitBreaker)
        self.clock = options.clock
        self.tls = options.tls.map { tls in
            Result { () throws(TLSError) in try TLSContext(role: .client, configuration: tls.configuration) }
        }
    }

    /// The current connection when it is open, read without a hop to the actor; nil
    /// when `connection()` must be asked (none yet, lost, retired, or closed client).
    nonisolated func readyConnection() -> Connection? {
        guard let c = ready.withLock({ $0 }), c.isActive else { return nil }
        return c
    }

    /// An open connection: the current one, or a new one to the first address that
    /// answers. Throws `circuitOpen` while the breaker is open, `closed` after `close()`.
    func connection() async throws(KaminoClientError) -> Connection {
        guard !isClosed else { throw KaminoClientError(.closed, "the client is closed") }
        if let current, current.isActive { return current }
        // Cleared (when set) so that the fast path stops handing out a closed connection.
        current = nil
        if let connecting { return try await connecting.value.get() }
        guard breaker.admit(now: clock.now) else {
            throw KaminoClientError(.circuitOpen, "the circuit breaker is open after repeated connection failures")
        }
        let task = Task { await self.connectAny() }
        connecting = task
        let result = await task.value
        connecting = nil
        if case .success(let c) = result {
            if isClosed { c.close() } else { current = c }
        }
        return try result.get()
    }

    /// Stops handing out `connection` after one of its requests timed out: the next
    /// request opens a new connection, starting with the address after its own. (Its
    /// handler closes it once its requests in flight are answered or time out.)
    func retire(_ connection: Connection) {
        guard let current, current === connection else { return }
        self.current = nil
        if let index = addresses.firstIndex(of: connection.address) {
            nextAddress = (index + 1) % addresses.count
        }
        logger.info("retiring the connection after a timeout", metadata: ["address": "\(connection.address)"])
    }

    /// A node answered `not_primary` naming `primary`: the next request goes there. The
    /// current connection takes no new request and closes once its requests are answered.
    func redirect(to primary: ServerAddress) {
        if let index = addresses.firstIndex(of: primary) {
            nextAddress = index
        } else {
            addresses.append(primary)
            nextAddress = addresses.count - 1
        }
        if let current, current.address != primary {
            current.retire()
            self.current = nil
        }
        logger.info("redirected to the primary", metadata: ["address": "\(primary)"])
    }

    /// A node answered `not_primary` without naming the primary: try the next address.
    func skip(_ connection: Connection) {
        guard let current, current === connection else { return }
        current.retire()
        self.current = nil
        if let index = addresses.firstIndex(of: connection.address) {
            nextAddress = (index + 1) % addresses.count
        }
    }

    /// Closes the connection; later requests fail with `closed`.
    func close() {
        isClosed = true
        current?.close()
        current = nil
    }

    /// Tries each address once, starting with the last one that worked.
    private func connectAny() async -> Result<Connection, KaminoClientError> {
        var lastError = "no address"
        for step in 0..<addresses.count {
            let index = (nextAddress + step) % addresses.count
            let address = addresses[index]
            do {
                let context = try tls?.get()
                // One `next()` per connection: the channel and its handshake promise share the
                // loop. (Two calls, one for each, made every connection of a two-loop group
                // land on the same loop, which then carried all of a TLS client's work.)
                let loop = group.next()
                // The handshake's outcome is taken when the handler is added: a handshake that
                // fails at once closes the channel, which removes the handler.
                let handshake = context.map { _ in loop.makePromise(of: TLSHandshakeCompleted.self) }
                let channel: any Channel
                do {
                    channel = try await bootstrap(on: loop, tls: context, host: address.host, handshake: handshake)
                        .connect(host: address.host, port: address.port).get()
                } catch {
                    handshake?.fail(error)
                    throw error
                }
                if let handshake {
                    // A failed handshake fails the connection, with OpenSSL's reason.
                    do {
                        _ = try await handshake.futureResult.get()
                    } catch {
                        channel.close(promise: nil)
                        throw error
                    }
                }
                let connection: Connection
                do {
                    connection = try await channel.eventLoop.submit {
                        Connection(
                            channel: channel, handler: try channel.pipeline.syncOperations.handler(type: ClientChannelHandler.self),
                            address: address)
                    }.get()
                } catch ChannelPipelineError.notFound {
                    // The channel closed (its handlers went) between connecting and now: with
                    // TLS 1.3 a server that refuses the client's certificate says so only after
                    // the client's side of the handshake completed.
                    throw KaminoClientError(
                        .connectionFailed,
                        "the server closed the connection at once (after the TLS handshake: a client certificate it refused, or a connection limit)")
                }
                if let token {
                    if let refused = await Self.authenticate(connection, token: token, timeout: requestTimeout) {
                        connection.close()
                        logger.info("authentication failed", metadata: ["address": "\(address)", "error": "\(refused)"])
                        return .failure(refused)
                    }
                }
                breaker.recordSuccess()
                nextAddress = index
                logger.debug("connected", metadata: ["address": "\(address)"])
                return .success(connection)
            } catch {
                lastError = "\(address): \(error)"
                logger.info("connection failed", metadata: ["address": "\(address)", "error": "\(error)"])
                breaker.recordFailure(now: clock.now)
                if breaker.isOpen { break }
            }
        }
        return .failure(KaminoClientError(.connectionFailed, "could not connect: \(lastError)"))
    }

    /// Presents `token` on `connection`; nil when the server accepted it.
    private static func authenticate(_ connection: Connection, token: KaminoToken, timeout: Duration) async -> KaminoClientError? {
        let text: String
        do { text = try await token.current() } catch {
            return KaminoClientError(.invalidArgument, "the token provider failed: \(error)")
        }
        switch await connection.send(.authenticate(Array(text.utf8)), timeout: .nanoseconds(timeout.nanoseconds)) {
        case .success(let answered):
            guard case .authenticate = answered.reply else { return KaminoClientError(.invalidReply, "not an authenticate reply") }
            return nil
        case .failure(let error):
            return error
        }
    }

    /// Connects on `loop` (the loop the caller took from the group for this connection).
    private func bootstrap(
        on loop: any EventLoop, tls: TLSContext?, host: String, handshake: EventLoopPromise<TLSHandshakeCompleted>?
    ) -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try tls.makeHandler(serverName: tls.configuration.serverName ?? host)
                        if let handshake { handler.handshakeResult(on: channel.eventLoop).cascade(to: handshake) }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(ClientChannelHandler())
                }
            }
    }
}
