import FoundationEssentials
package import NIOCore
import NIOHTTP1
import NIOPosix

/// A small etcd v3 client over etcd's JSON gateway (HTTP/1.1 POSTs to `/v3/...`), for
/// Kamino's automatic failover.
///
/// The failover follows Patroni's design: etcd holds one leader key per cluster, attached to
/// a lease with a short TTL.
/// - A node becomes leader by creating the key only if it is absent (`createIfAbsent`, a txn
///   comparing the key's create revision with 0) under its own lease (`grantLease`). The
///   create revision of the key it created identifies its term of leadership.
/// - The leader refreshes the lease (`keepAlive`) well within the TTL. If it cannot (etcd
///   partitioned away, the process stalled), the lease expires, etcd deletes the key, and
///   another node can create it. The leader must therefore stop accepting writes (fence
///   itself) once the TTL may have run out since its last successful keep-alive: every
///   request here has a deadline (`requestTimeout`), so a partitioned etcd never hangs it.
/// - The leader updates data next to its key (the member list, the synchronous replica set)
///   only while it still holds the key it created (`putIfOwner`, a txn comparing the create
///   revision), and steps down by deleting only its own key (`deleteIfOwner`), so a deposed
///   leader can never overwrite its successor's state.
/// - Followers watch the key by polling (`get`, `getPrefix`).
///
/// Endpoints are tried in order when a connection cannot be made; one keep-alive HTTP
/// connection is reused (requests are pipelined on it) and replaced after a failure, starting
/// with the next endpoint. After `timeout` or `connectionFailed` a write may have been
/// applied: read the key before acting on the assumption that it was not.
package actor EtcdClient {
    private let endpoints: [EtcdEndpoint]
    private let group: any EventLoopGroup
    private let requestTimeout: Duration
    /// The open connection, if any, and the index of its endpoint.
    private var connection: (channel: any Channel, endpoint: Int)?
    /// The endpoint tried first by the next connection attempt.
    private var nextEndpoint = 0
    /// The connection attempt in progress, which concurrent requests wait for.
    private var connecting: Task<Result<(any Channel, Int), EtcdError>, Never>?
    private var isShutDown = false

    /// A client for the etcd cluster at `endpoints` (`"127.0.0.1:2379"`, tried in order);
    /// every request fails with `timeout` if it has no reply `requestTimeout` after the call
    /// (connecting included). Nothing is connected until the first request.
    package init(endpoints: [String], eventLoopGroup: any EventLoopGroup, requestTimeout: Duration) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw EtcdError(.invalidArgument, "no etcd endpoint") }
        guard requestTimeout > .zero else { throw EtcdError(.invalidArgument, "requestTimeout must be positive") }
        var parsed: [EtcdEndpoint] = []
        for text in endpoints { parsed.append(try EtcdEndpoint(parsing: text)) }
        self.endpoints = parsed
        self.group = eventLoopGroup
        self.requestTimeout = requestTimeout
    }

    /// Closes the connection; later calls fail with `closed`.
    package func shutdown() {
        isShutDown = true
        connection?.channel.close(promise: nil)
        connection = nil
    }

    // MARK: Leases

    /// Grants a lease of `ttlSeconds` (etcd raises it to its minimum TTL, see
    /// docs/replication.md); returns its id and the TTL etcd granted.
    package func grantLease(ttlSeconds: Int) async throws(EtcdError) -> (id: Int64, ttl: Int) {
        guard ttlSeconds >= 1 else { throw EtcdError(.invalidArgument, "lease TTL \(ttlSeconds) s is below 1 s") }
        let reply: EtcdWire.LeaseGrantResponse = try await post("/v3/lease/grant", EtcdWire.LeaseGrantRequest(TTL: String(ttlSeconds)))
        if let error = reply.error, !error.isEmpty { throw EtcdError(.badResponse, "lease grant refused: \(error)") }
        let id = try EtcdWire.int64(reply.ID, "ID")
        let ttl = try EtcdWire.int64(reply.TTL, "TTL")
        guard id != 0, ttl > 0, let ttlInt = Int(exactly: ttl) else {
            throw EtcdError(.badResponse, "lease grant answered ID \(reply.ID ?? "none"), TTL \(reply.TTL ?? "none")")
        }
        return (id, ttlInt)
    }

    /// Refreshes the lease once; returns its remaining TTL in seconds (the full TTL again).
    /// Throws `leaseExpired` if the lease no longer exists.
    package func keepAlive(lease: Int64) async throws(EtcdError) -> Int {
        let reply: EtcdWire.LeaseKeepAliveStreamMessage = try await post(
            "/v3/lease/keepalive", EtcdWire.LeaseIDRequest(ID: String(lease)), firstLineOnly: true)
        if let error = reply.error { throw Self.gatewayError(error, status: 200) }
        guard let result = reply.result else { throw EtcdError(.badResponse, "keep-alive reply has no result") }
        let ttl = try EtcdWire.int64(result.TTL, "TTL")
        guard ttl > 0 else { throw EtcdError(.leaseExpired, "lease \(lease) has expired or was revoked") }
        return Int(clamping: ttl)
    }

    /// Revokes the lease, deleting the keys attached to it. A lease that is already gone is
    /// not an error (revoking is idempotent).
    package func revoke(lease: Int64) async throws(EtcdError) {
        do {
            let _: EtcdWire.LeaseRevokeResponse = try await post("/v3/lease/revoke", EtcdWire.LeaseIDRequest(ID: String(lease)))
        } catch where error.code == .leaseExpired {
            return
        }
    }

    // MARK: Keys

    /// The key, or nil if it does not exist.
    package func get(key: String) async throws(EtcdError) -> KeyValue? {
        let reply: EtcdWire.RangeResponse = try await post("/v3/kv/range", EtcdWire.RangeRequest(key: EtcdWire.base64(key)))
        return try reply.kvs?.first.map { kv throws(EtcdError) in try EtcdWire.keyValue(kv) }
    }

    /// Every key that starts with `prefix`, in key order.
    package func getPrefix(_ prefix: String) async throws(EtcdError) -> [KeyValue] {
        let end = EtcdWire.prefixRangeEnd(Array(prefix.utf8))
        let request = EtcdWire.RangeRequest(key: EtcdWire.base64(prefix.isEmpty ? [0] : Array(prefix.utf8)), range_end: EtcdWire.base64(end))
        let reply: EtcdWire.RangeResponse = try await post("/v3/kv/range", request)
        var out: [KeyValue] = []
        for kv in reply.kvs ?? [] { out.append(try EtcdWire.keyValue(kv)) }
        return out
    }

    /// Writes the key (attached to `lease` unless it is 0); returns the revision of the write.
    /// Throws `leaseExpired` if the lease does not exist.
    @discardableResult
    package func put(key: String, value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        let reply: EtcdWire.PutResponse = try await post("/v3/kv/put", Self.putRequest(key, value, lease))
        return try Self.revision(reply.header)
    }

    /// Creates the key only if it does not exist (a txn: `create_revision(key) == 0` then put,
    /// else range). Returns whether it was created, the revision of the txn (the new key's
    /// create revision when created), and the key as it is when it already existed.
    package func createIfAbsent(key: String, value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> (
        created: Bool, revision: Int64, current: KeyValue?
    ) {
        let request = EtcdWire.TxnRequest(
            compare: [EtcdWire.Compare(key: EtcdWire.base64(key), create_revision: "0")],
            success: [EtcdWire.RequestOp(request_put: Self.putRequest(key, value, lease))],
            failure: [EtcdWire.RequestOp(request_range: EtcdWire.RangeRequest(key: EtcdWire.base64(key)))])
        let reply: EtcdWire.TxnResponse = try await post("/v3/kv/txn", request)
        let revision = try Self.revision(reply.header)
        if reply.succeeded == true { return (true, revision, nil) }
        let range = reply.responses?.first?.response_range
        let current = try range?.kvs?.first.map { kv throws(EtcdError) in try EtcdWire.keyValue(kv) }
        return (false, revision, current)
    }

    /// Writes the key only if its create revision is still `expectedCreateRevision` (the
    /// caller still owns the incarnation it created). Returns false, writing nothing, if the
    /// key was deleted or created again since.
    package func putIfOwner(key: String, value: [UInt8], lease: Int64 = 0, expectedCreateRevision: Int64) async throws(EtcdError)
        -> Bool
    {
        guard expectedCreateRevision > 0 else { throw EtcdError(.invalidArgument, "expectedCreateRevision must be positive") }
        let request = EtcdWire.TxnRequest(
            compare: [EtcdWire.Compare(key: EtcdWire.base64(key), create_revision: String(expectedCreateRevision))],
            success: [EtcdWire.RequestOp(request_put: Self.putRequest(key, value, lease))],
            failure: [])
        let reply: EtcdWire.TxnResponse = try await post("/v3/kv/txn", request)
        _ = try Self.revision(reply.header)
        return reply.succeeded == true
    }

    /// Writes `key` (without a lease) only while `guardKey` is still the incarnation created
    /// at `guardCreateRevision` (a txn comparing `guardKey`'s create revision): a leader
    /// updates the cluster's shared state only while it still holds its leader key, so a
    /// deposed leader can never overwrite its successor's. Returns false, writing nothing,
    /// otherwise.
    package func putIfHolding(guardKey: String, guardCreateRevision: Int64, key: String, value: [UInt8])
        async throws(EtcdError) -> Bool
    {
        guard guardCreateRevision > 0 else { throw EtcdError(.invalidArgument, "guardCreateRevision must be positive") }
        let request = EtcdWire.TxnRequest(
            compare: [EtcdWire.Compare(key: EtcdWire.base64(guardKey), create_revision: String(guardCreateRevision))],
            success: [EtcdWire.RequestOp(request_put: Self.putRequest(key, value, 0))],
            failure: [])
        let reply: EtcdWire.TxnResponse = try await post("/v3/kv/txn", request)
        _ = try Self.revision(reply.header)
        return reply.succeeded == true
    }

    /// Deletes the key only if its create revision is still `expectedCreateRevision`.
    /// Returns false, deleting nothing, if it was deleted or created again since.
    package func deleteIfOwner(key: String, expectedCreateRevision: Int64) async throws(EtcdError) -> Bool {
        guard expectedCreateRevision > 0 else { throw EtcdError(.invalidArgument, "expectedCreateRevision must be positive") }
        let request = EtcdWire.TxnRequest(
            compare: [EtcdWire.Compare(key: EtcdWire.base64(key), create_revision: String(expectedCreateRevision))],
            success: [EtcdWire.RequestOp(request_delete_range: EtcdWire.DeleteRangeRequest(key: EtcdWire.base64(key)))],
            failure: [])
        let reply: EtcdWire.TxnResponse = try await post("/v3/kv/txn", request)
        _ = try Self.revision(reply.header)
        return reply.succeeded == true
    }

    /// Deletes the key; returns whether it existed.
    @discardableResult
    package func delete(key: String) async throws(EtcdError) -> Bool {
        let reply: EtcdWire.DeleteRangeResponse = try await post(
            "/v3/kv/deleterange", EtcdWire.DeleteRangeRequest(key: EtcdWire.base64(key)))
        return try EtcdWire.int64(reply.deleted, "deleted") > 0
    }

    // MARK: Transport

    private static func putRequest(_ key: String, _ value: [UInt8], _ lease: Int64) -> EtcdWire.PutRequest {
        EtcdWire.PutRequest(key: EtcdWire.base64(key), value: EtcdWire.base64(value), lease: lease == 0 ? nil : String(lease))
    }

    /// The header's revision, which every successful reply carries (always at least 1).
    private static func revision(_ header: EtcdWire.Header?) throws(EtcdError) -> Int64 {
        let revision = try EtcdWire.int64(header?.revision, "header.revision")
        guard revision > 0 else { throw EtcdError(.badResponse, "reply has no header revision") }
        return revision
    }

    /// POSTs `request` as JSON to `path` and decodes the 200 reply as `Reply`; other statuses
    /// become errors. `firstLineOnly` decodes the first line of a stream reply.
    private func post<Request: Encodable, Reply: Decodable>(
        _ path: String, _ request: Request, firstLineOnly: Bool = false
    ) async throws(EtcdError) -> Reply {
        let deadline = NIODeadline.now() + .nanoseconds(requestTimeout.nanosecondsClamped)
        let json: Data
        do { json = try JSONEncoder().encode(request) } catch {
            throw EtcdError(.invalidArgument, "cannot encode \(Request.self): \(error)")
        }
        let (channel, endpoint) = try await connectedChannel(deadline: deadline)
        let promise = channel.eventLoop.makePromise(of: HTTPReply.self)
        let exchange = HTTPExchange(
            path: path, host: endpoints[endpoint].hostHeader, body: ByteBuffer(bytes: json), deadline: deadline, promise: promise)
        channel.writeAndFlush(exchange).whenFailure { error in
            // A no-op when the handler already failed it.
            promise.fail(EtcdError(.connectionFailed, "cannot send to etcd \(exchange.host): \(error)"))
        }
        let reply: HTTPReply
        do {
            reply = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(EtcdError(.cancelled, "cancelled"))
            }
        } catch let error as EtcdError {
            if error.code == .timeout || error.code == .connectionFailed { retire(channel) }
            throw error
        } catch {
            retire(channel)
            throw EtcdError(.connectionFailed, "\(error)")
        }
        var body = reply.body
        var bytes = body.readBytes(length: body.readableBytes) ?? []
        if firstLineOnly, let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) { bytes.removeSubrange(newline...) }
        guard reply.status == 200 else {
            let gateway = try? JSONDecoder().decode(EtcdWire.GatewayError.self, from: Data(bytes))
            guard let gateway else {
                let text = String(decoding: bytes.prefix(200), as: UTF8.self)
                throw EtcdError(.httpStatus, "etcd answered HTTP \(reply.status) to \(path): \(text)", httpStatus: reply.status)
            }
            throw Self.gatewayError(gateway, status: reply.status)
        }
        do {
            return try JSONDecoder().decode(Reply.self, from: Data(bytes))
        } catch {
            let text = String(decoding: bytes.prefix(200), as: UTF8.self)
            throw EtcdError(.badResponse, "cannot decode etcd's reply to \(path) (\(error)): \(text)")
        }
    }

    /// The error for a gateway error body; "lease not found" is `leaseExpired`.
    private static func gatewayError(_ gateway: EtcdWire.GatewayError, status: Int) -> EtcdError {
        let message = gateway.message ?? gateway.error ?? "no message"
        let grpcNotFound = 5
        if gateway.code == grpcNotFound && message.contains("lease not found") {
            return EtcdError(.leaseExpired, message, httpStatus: status, grpcCode: gateway.code)
        }
        return EtcdError(.httpStatus, "etcd answered HTTP \(status): \(message)", httpStatus: status, grpcCode: gateway.code)
    }

    /// The open connection, or a new one (`connectAny`); concurrent calls share one attempt.
    private func connectedChannel(deadline: NIODeadline) async throws(EtcdError) -> (any Channel, Int) {
        guard !isShutDown else { throw EtcdError(.closed, "the etcd client was shut down") }
        if let connection, connection.channel.isActive { return connection }
        connection = nil
        if let connecting { return try await connecting.value.get() }
        let attempt = Task { await self.connectAny(deadline: deadline) }
        connecting = attempt
        let result = await attempt.value
        connecting = nil
        return try result.get()
    }

    /// Connects to the first endpoint that accepts, starting with `nextEndpoint`; each
    /// attempt gets an equal share of the time left before `deadline`.
    private func connectAny(deadline: NIODeadline) async -> Result<(any Channel, Int), EtcdError> {
        var failures: [String] = []
        for step in 0..<endpoints.count {
            let index = (nextEndpoint + step) % endpoints.count
            let left = deadline - .now()
            guard left > .zero else { break }
            let share = TimeAmount.nanoseconds(left.nanoseconds / Int64(endpoints.count - step))
            let endpoint = endpoints[index]
            do {
                // An IP literal is connected to directly (no resolver, no Happy Eyeballs race).
                let channel: any Channel
                if let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
                    channel = try await bootstrap(connectTimeout: share).connect(to: address).get()
                } else {
                    channel = try await bootstrap(connectTimeout: share).connect(host: endpoint.host, port: endpoint.port).get()
                }
                guard !isShutDown else {
                    channel.close(promise: nil)
                    return .failure(EtcdError(.closed, "the etcd client was shut down"))
                }
                assert(connection == nil, "a second connection while one was being made")
                connection = (channel, index)
                nextEndpoint = index
                return .success((channel, index))
            } catch {
                failures.append("\(endpoint): \(error)")
            }
        }
        let detail = failures.isEmpty ? "" : ": " + failures.joined(separator: "; ")
        if NIODeadline.now() >= deadline {
            return .failure(EtcdError(.timeout, "could not connect to etcd before the deadline\(detail)"))
        }
        return .failure(EtcdError(.connectionFailed, "could not connect to any etcd endpoint\(detail)"))
    }

    /// Drops `channel` after a timeout or a lost connection; the next request connects again,
    /// starting with the endpoint after this one.
    private func retire(_ channel: any Channel) {
        channel.close(promise: nil)
        guard let connection, connection.channel === channel else { return }
        self.connection = nil
        nextEndpoint = (connection.endpoint + 1) % endpoints.count
    }

    private func bootstrap(connectTimeout: TimeAmount) -> ClientBootstrap {
        ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPExchangeHandler())
                }
            }
    }
}

extension Duration {
    /// The duration in nanoseconds, clamped to `Int64`.
    fileprivate var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }
}
