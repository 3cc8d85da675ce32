public import LedgerCore
import LedgerWire
public import Logging
public import NIOCore
public import NIOPosix

/// A client of a Kamino ledger server.
///
/// Safe to share between tasks: concurrent `createTransfers`, `createAccounts` and
/// lookup calls made while 4 requests of the same operation are in flight are merged
/// into one request (up to ``KaminoClientOptions/maxBatchSize`` events), and every caller
/// gets exactly its own results. A call that finds fewer than 4 requests of its operation
/// in flight is sent by the calling task itself (no task or actor hop of its own: the cost
/// of a one-event call is one hop to the connection's event loop and one continuation).
/// Requests are pipelined on one connection, time out
/// after ``KaminoClientOptions/requestTimeout``, and are retried with backoff on timeouts and lost
/// connections, trying the next address when one fails. A connection on which a
/// request timed out takes no new request: the retry reconnects, starting with the
/// next address.
///
/// **Retried creates may answer `exists`.** A create whose reply was lost (timeout,
/// lost connection) may have been applied; the retry then answers `exists` (with the
/// original timestamp) for those events. For events *outside linked chains*, treat
/// `exists` like `created`.
///
/// **Linked chains are not retried after an unknown outcome.** `exists` breaks a
/// linked chain, so a resent chain that was applied would answer `exists` for its
/// first event and `linked_event_failed` for the others although all of them are
/// committed. A create containing any `linked` event is therefore resent only after
/// failures that happened before it was written (connect failure, `busy`,
/// `shutting_down`); after a timeout or a connection lost while awaiting the reply it
/// fails with `outcomeUnknown` (for every caller whose events shared its request).
/// Then look the ids up and resend, under the same ids, only what is absent. Never
/// read `linked_event_failed` after `exists` in your own resend as "not applied".
///
/// **Cancellation.** Cancelling the calling task resumes the call at once with
/// `cancelled`. A call still queued behind a request in flight is then never sent; one
/// already sent may have been applied (look its ids up).
///
/// **Replication.** Give the client every node of a cluster (primary and followers):
/// writes go to the primary; a node that answers `not_primary` names the primary and
/// the client resends there (nothing was executed), and when the primary cannot be
/// reached the other addresses are tried, each pointing to the current primary. So a
/// failover is followed without the caller doing anything, within the retry policy.
/// With ``KaminoClientOptions/readPreference`` ``ReadPreference/followers(maxLagLSN:)``, reads go to a
/// follower and are resent to the primary when its answer is staler than the bound
/// (measured against ``highestSeenLSN``).
///
/// ```swift
/// let client = try KaminoClient(addresses: ["127.0.0.1:4410"])
/// let results = try await client.createTransfers([transfer])
/// await client.close()
/// ```
public final class KaminoClient: Sendable {
    private let connections: ConnectionManager
    private let readConnections: ConnectionManager?
    private let executor: RequestExecutor
    private let lsn = LSNTracker()
    private let options: KaminoClientOptions
    private let group: any EventLoopGroup
    private let logger: Logger
    /// Requests of one operation (`create_transfers`, `lookup_accounts`...) sent at once
    /// before further calls queue and merge: a few callers pipeline their requests instead
    /// of waiting for each other's round trips (`BatchLane`).
    package static let directRequestsPerOperation = 4

    private let createAccountsLane: BatchLane<CreateAccountsKind>
    private let createTransfersLane: BatchLane<CreateTransfersKind>
    private let lookupAccountsLane: BatchLane<LookupAccountsKind>
    private let lookupTransfersLane: BatchLane<LookupTransfersKind>

    /// Creates a client for the servers at `addresses`, tried in order on connection
    /// failure (give every node of a cluster). Connects lazily, on the first request.
    /// - Parameters:
    ///   - addresses: the servers; at least one.
    ///   - options: timeouts, retries, batching, circuit breaker, read preference.
    ///   - eventLoopGroup: where the connections run (default: NIO's shared singleton
    ///     group). The client never shuts it down.
    ///   - logger: told about connections, failovers and retries (default: discards).
    /// - Throws: `invalidArgument` when `addresses` is empty.
    public init(
        addresses: [ServerAddress], options: KaminoClientOptions = KaminoClientOptions(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "kamino.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(KaminoClientError) {
        guard !addresses.isEmpty else { throw KaminoClientError(.invalidArgument, "no server address") }
        connections = ConnectionManager(addresses: addresses, options: options, group: eventLoopGroup, logger: logger)
        if case .followers = options.readPreference {
            readConnections = ConnectionManager(
                addresses: addresses, options: options, group: eventLoopGroup, logger: logger, startIndex: 1)
        } else {
            readConnections = nil
        }
        executor = RequestExecutor(
            connections: connections, readConnections: readConnections, options: options, logger: logger, lsn: lsn)
        self.options = options
        self.group = eventLoopGroup
        self.logger = logger
        createAccountsLane = BatchLane(executor: executor, maxBatchSize: options.maxBatchSize, directLimit: Self.directRequestsPerOperation)
        createTransfersLane = BatchLane(executor: executor, maxBatchSize: options.maxBatchSize, directLimit: Self.directRequestsPerOperation)
        lookupAccountsLane = BatchLane(executor: executor, maxBatchSize: options.maxBatchSize, directLimit: Self.directRequestsPerOperation)
        lookupTransfersLane = BatchLane(executor: executor, maxBatchSize: options.maxBatchSize, directLimit: Self.directRequestsPerOperation)
    }

    /// Creates a client for the servers at `addresses` written as `HOST:PORT`, parsed
    /// as ``ServerAddress/init(_:)`` parses them; otherwise the same as the initialiser
    /// that takes ``ServerAddress`` values.
    /// - Throws: `invalidArgument` when the list is empty or an address is malformed
    ///   (the message says what is wrong, as ``ServerAddress/init(_:)`` does).
    public convenience init(
        addresses: [String], options: KaminoClientOptions = KaminoClientOptions(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "kamino.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(KaminoClientError) {
        var parsed: [ServerAddress] = []
        for a in addresses { parsed.append(try ServerAddress(a)) }
        try self.init(addresses: parsed, options: options, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Creates accounts; returns one result per account, in order. A retried create may
    /// answer `exists`: treat it like `created` outside linked chains. A call with
    /// `linked` accounts is not retried once it may have been applied: it throws
    /// `outcomeUnknown` (look the ids up before resending).
    public func createAccounts(_ accounts: [Account]) async throws(KaminoClientError) -> [CreateAccountResult] {
        try await createAccountsLane.submit(accounts).get()
    }

    /// Creates transfers; returns one result per transfer, in order. A retried create may
    /// answer `exists`: treat it like `created` outside linked chains. A call with
    /// `linked` transfers is not retried once it may have been applied: it throws
    /// `outcomeUnknown` (look the ids up before resending).
    public func createTransfers(_ transfers: [Transfer]) async throws(KaminoClientError) -> [CreateTransferResult] {
        try await createTransfersLane.submit(transfers).get()
    }

    /// The accounts with these ids that exist, in the order of `ids`.
    public func lookupAccounts(_ ids: [UInt128]) async throws(KaminoClientError) -> [Account] {
        try await lookupAccountsLane.submit(ids).get()
    }

    /// The transfers with these ids that exist, in the order of `ids`.
    public func lookupTransfers(_ ids: [UInt128]) async throws(KaminoClientError) -> [Transfer] {
        try await lookupTransfersLane.submit(ids).get()
    }

    /// The transfers of one account that match `filter`.
    public func getAccountTransfers(_ filter: AccountFilter) async throws(KaminoClientError) -> [Transfer] {
        guard case .getAccountTransfers(let records) = try await send(.getAccountTransfers(filter)) else { throw mismatch }
        return records
    }

    /// The balance history of one account (with `history`) that matches `filter`.
    public func getAccountBalances(_ filter: AccountFilter) async throws(KaminoClientError) -> [AccountBalance] {
        guard case .getAccountBalances(let records) = try await send(.getAccountBalances(filter)) else { throw mismatch }
        return records
    }

    /// The accounts that match `filter`.
    public func queryAccounts(_ filter: QueryFilter) async throws(KaminoClientError) -> [Account] {
        guard case .queryAccounts(let records) = try await send(.queryAccounts(filter)) else { throw mismatch }
        return records
    }

    /// The transfers that match `filter`.
    public func queryTransfers(_ filter: QueryFilter) async throws(KaminoClientError) -> [Transfer] {
        guard case .queryTransfers(let records) = try await send(.queryTransfers(filter)) else { throw mismatch }
        return records
    }

    /// The highest `state_lsn` of every reply this client has received: the LSN of the
    /// newest ledger state it has seen (its own writes included). 0 before any reply.
    public var highestSeenLSN: UInt64 { lsn.value }

    /// The status of the node at `address`, whatever its role: the JSON
    /// object of docs/protocol.md ("Operations", `status`). One attempt, on a connection
    /// of its own.
    public func status(at address: ServerAddress) async throws(KaminoClientError) -> String {
        try await admin(.status, at: address)
    }

    /// Makes the follower at `address` the primary; returns the node's JSON answer
    /// (`{"role":"primary","epoch":N,…}`). Throws `serverError(.notFollower)` when the
    /// node is not a follower. One attempt, on a connection of its own.
    public func promote(at address: ServerAddress) async throws(KaminoClientError) -> String {
        try await admin(.promote, at: address)
    }

    /// The state digest of the node at `address` now, with the LSN it covers, as the
    /// node's JSON (`{"lsn":N,"digest":"HEX"}`): replicas at the same LSN have the same
    /// digest. It reads the whole state. One attempt, on a connection of its own.
    public func digest(at address: ServerAddress) async throws(KaminoClientError) -> String {
        try await admin(.digest, at: address)
    }

    /// Closes the connection. Requests in flight and later calls fail with `closed`
    /// (or `connectionFailed` if the loss was seen first).
    public func close() async {
        await connections.close()
        await readConnections?.close()
    }

    private func admin(_ request: Request, at address: ServerAddress) async throws(KaminoClientError) -> String {
        var once = options
        once.retry = .none
        let node = ConnectionManager(
            addresses: [address], options: once, group: group, logger: logger)
        let executor = RequestExecutor(
            connections: node, readConnections: nil, options: once, logger: logger, lsn: LSNTracker())
        let result = await executor.execute(request)
        await node.close()
        switch try result.get() {
        case .status(let json), .promote(let json), .digest(let json), .authenticate(let json): return String(decoding: json, as: UTF8.self)
        default: throw mismatch
        }
    }

    private func send(_ request: Request) async throws(KaminoClientError) -> Reply {
        try await executor.execute(request).get()
    }

    private var mismatch: KaminoClientError {
        KaminoClientError(.invalidReply, "the reply does not answer the request")
    }
}
