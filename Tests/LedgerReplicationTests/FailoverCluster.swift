import Foundation
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

/// The flags of every node of the failover tests: sync mode, quorum 1, 3 s sync timeout.
let failoverReplication = ["--replication", "sync", "--sync-quorum", "1", "--sync-timeout-ms", "3000"]

/// What `status` says of a node (the fields the failover tests read).
struct FailoverStatus: Sendable {
    var role: String
    var epoch: UInt64
    var lastLSN: UInt64
    /// On a primary: its followers' node ids with their state (`streaming`, ...).
    var followers: [(node: String, state: String)]
    /// On a primary: the sync set (node ids).
    var syncSet: [String]
}

/// Three `kamino serve` nodes with automatic failover through a real etcd (every node's
/// etcd traffic and published replication address go through its own `TCPFaultProxy`),
/// and the `AckLog` of the load. `tearDown()` kills everything and removes the directories.
final class FailoverCluster {
    let directory: ClusterDirectory
    let etcd: EtcdTestServer
    private(set) var nodes: [FailoverNode] = []
    let acks = AckLog()
    /// `--cluster` (unique per test, though each test has its own etcd).
    let name: String

    /// Starts etcd, then `n1` (which takes the leader key), then `n2` and `n3`; waits until
    /// n1 is the primary with two streaming followers.
    init(tag: String, count: Int = 3) async throws {
        directory = try ClusterDirectory("failover-\(tag)")
        do {
            etcd = try EtcdTestServer.start()
        } catch {
            directory.remove()
            throw error
        }
        name = "failover-\(tag)"
        do {
            for i in 1...count {
                nodes.append(
                    try FailoverNode(
                        name: "n\(i)", in: directory, etcdPort: etcd.clientPort, replication: failoverReplication,
                        failover: ["--cluster", name, "--lease-ttl-ms", "1000"]))
                if i == 1 {
                    let first = await waitForPrimary(timeout: 20)
                    try #require(first === nodes[0], "n1 did not become the primary within 20 s:\n\(nodes[0].logTail())")
                }
            }
            try #require(
                await waitForStreamingFollowers(count - 1, timeout: 30), "the followers did not stream within 30 s\n\(logs())")
        } catch {
            tearDown()
            throw error
        }
    }

    /// Every node's client address (the load's targets).
    var addresses: [String] { nodes.map(\.clientAddress) }

    /// The node with client address `address`.
    func node(_ address: String) -> FailoverNode? { nodes.first { $0.clientAddress == address } }

    /// The status of `node`, or nil when it does not answer within 1 s.
    func status(_ node: FailoverNode) async -> FailoverStatus? {
        guard node.isRunning, !node.isPaused else { return nil }
        guard let admin = try? KaminoClient(addresses: [node.clientAddress], options: Self.adminOptions),
            let json = try? await admin.status(at: ServerAddress(node.clientAddress))
        else { return nil }
        await admin.close()
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let role = object["role"] as? String
        else { return nil }
        let followers = (object["followers"] as? [[String: Any]] ?? []).map {
            (node: $0["node"] as? String ?? "", state: $0["state"] as? String ?? "")
        }
        return FailoverStatus(
            role: role, epoch: (object["epoch"] as? NSNumber)?.uint64Value ?? 0,
            lastLSN: (object["last_lsn"] as? NSNumber)?.uint64Value ?? 0, followers: followers,
            syncSet: object["sync_set"] as? [String] ?? [])
    }

    /// The running node that says it is the primary, with the highest epoch (a paused or
    /// partitioned old primary may still say so until it fences itself).
    func primary(excluding excluded: FailoverNode? = nil) async -> FailoverNode? {
        var best: (FailoverNode, UInt64)?
        for n in nodes where n !== excluded {
            if let s = await status(n), s.role == "primary", s.epoch > best?.1 ?? 0 { best = (n, s.epoch) }
        }
        return best?.0
    }

    /// Waits up to `timeout` s for a primary (other than `excluded`).
    func waitForPrimary(excluding excluded: FailoverNode? = nil, timeout: Double) async -> FailoverNode? {
        let deadline = monotonicClockSeconds() + timeout
        while monotonicClockSeconds() < deadline {
            if let p = await primary(excluding: excluded) { return p }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Waits up to `timeout` s until the primary has `count` streaming followers.
    func waitForStreamingFollowers(_ count: Int, timeout: Double) async -> Bool {
        let deadline = monotonicClockSeconds() + timeout
        while monotonicClockSeconds() < deadline {
            if let p = await primary(), let s = await status(p), s.role == "primary",
                s.followers.filter({ $0.state == "streaming" }).count >= count
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Creates the accounts of `ClusterBook` and funds them, through the primary.
    func setUpBook() async throws {
        let primary = try #require(await primary(), "no primary")
        let c = try KaminoClient(addresses: [primary.clientAddress], options: KaminoClientOptions(requestTimeout: .seconds(10)))
        try await ClusterBook.setUp(c, acks: acks, node: primary.clientAddress)
        await c.close()
        try #require(acks.entries.count == ClusterBook.customers, "funding transfers not all created")
    }

    /// Creates one more transfer (`id`, fresh) on the primary and waits until every other
    /// running node answers it: then they hold every record the primary logged before it.
    /// Returns the primary.
    @discardableResult
    func syncPoint(id: UInt128, timeout: Double = 30) async throws -> FailoverNode {
        let deadline = monotonicClockSeconds() + timeout
        let sentinel = Transfer(
            id: id, debitAccountId: ClusterBook.bank, creditAccountId: ClusterBook.customer(0), amount: 1,
            ledger: ClusterBook.ledger, code: 99)
        while monotonicClockSeconds() < deadline {
            guard let primary = await primary() else {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            let c = try KaminoClient(addresses: [primary.clientAddress], options: Self.adminOptions)
            let results = try? await c.createTransfers([sentinel])
            await c.close()
            guard let results, acks.recordTransfers([sentinel], results: results, node: primary.clientAddress) == 1 else {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            for n in nodes where n !== primary {
                let found = try await waitForTransfers([id], on: n.clientAddress, timeout: max(1, deadline - monotonicClockSeconds()))
                try #require(found != nil, "\(n.name) did not apply the sentinel transfer:\n\(n.logTail())")
            }
            return primary
        }
        throw ClusterError("no primary created the sentinel transfer within \(timeout) s\n\(logs())")
    }

    /// Checks every acknowledged transfer and the money invariants on `primary`.
    func checkAcknowledged(on primary: FailoverNode, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let c = try KaminoClient(addresses: [primary.clientAddress], options: KaminoClientOptions(requestTimeout: .seconds(20)))
        let problems = await acks.checkEveryAckedTransferPresent(on: c)
        await c.close()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    /// Stops every node (the primary last: nothing fails over) and returns each node's
    /// `wal replay` digest by name.
    func stopAndDigest(primary: FailoverNode) throws -> [String: String] {
        for n in nodes where n !== primary { n.terminate() }
        primary.terminate()
        var digests: [String: String] = [:]
        for n in nodes { digests[n.name] = try n.digest() }
        return digests
    }

    /// The last lines of every node's log, for failure messages.
    func logs(_ lines: Int = 15) -> String {
        nodes.map { "--- \($0.name) (\($0.clientAddress)):\n\($0.logTail(lines))" }.joined(separator: "\n")
    }

    /// Kills every node, stops the proxies and etcd, removes the directories (with
    /// `$KAMINO_FAILOVER_KEEP_LOGS` set, the nodes' logs are copied under that directory
    /// first). Idempotent.
    func tearDown() {
        for n in nodes {
            n.kill9()
            n.stopProxies()
        }
        if let keep = ProcessInfo.processInfo.environment["KAMINO_FAILOVER_KEEP_LOGS"], !keep.isEmpty {
            let target = keep + "/" + name + "-" + String(Int(wallClockSeconds()))
            let names = nodes.map { "\($0.name)=\($0.clientAddress)" }.joined(separator: " ")
            _ = runProcess(
                ["/bin/sh", "-c", "mkdir -p '\(target)' && cp '\(directory.path)'/*.log '\(target)'/ && echo \(names) > '\(target)/nodes'"],
                log: "/dev/null")
            print("logs kept in \(target)")
        }
        etcd.stop()
        directory.remove()
    }

    /// One attempt, 1 s: a node that does not answer at once is treated as unavailable.
    static let adminOptions = KaminoClientOptions(
        requestTimeout: .seconds(1), connectTimeout: .milliseconds(300), retry: .none)
}

/// Where the last "primary of epoch" line of `log` says the new primary's log ended when
/// it took over (`log_ends_at`), if present.
func logEndAtPromotion(_ log: String) -> UInt64? {
    guard let line = log.split(separator: "\n").last(where: { $0.contains("replication: primary of epoch") }),
        let range = line.range(of: "log_ends_at=")
    else { return nil }
    return UInt64(line[range.upperBound...].prefix { $0.isNumber })
}

/// p-th percentile (0...100) of `values` (nearest rank); 0 when empty.
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}
