import Glibc
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing

/// The replication tests: real `kamino serve` / `kamino follow` processes on 127.0.0.1,
/// one test at a time (they share two cores). Each test stops every process it started.
@Suite("replication: real kamino nodes", .serialized)
struct ClusterTests {}

/// The flags of a sync primary (or follower) with quorum 1 and a 2 s timeout.
let syncReplication = ["--replication", "sync", "--sync-quorum", "1", "--sync-timeout-ms", "2000"]
let asyncReplication = ["--replication", "async"]

/// A client of one node that fails fast (tests bound their own waits).
func client(_ address: String, timeout: Duration = .seconds(10), token: KaminoToken? = nil) throws -> KaminoClient {
    var options = KaminoClientOptions(requestTimeout: timeout)
    options.token = token
    return try KaminoClient(addresses: [address], options: options)
}

/// Starts a primary and one follower of it (`follower-1`) in `dir`, appending each node
/// to `nodes` as soon as it runs, so that the caller's teardown stops whatever started.
func startPrimaryWithFollower(
    in dir: ClusterDirectory, nodes: inout [ClusterNode], replication: [String] = asyncReplication,
    primaryExtra: [String] = [], followerExtra: [String] = []
) throws -> (primary: ClusterNode, follower: ClusterNode, replicationAddress: String) {
    let primary = try ClusterNode(name: "primary", role: .primary, in: dir, replication: replication, extra: primaryExtra)
    nodes.append(primary)
    let replicationAddress = try #require(primary.replicationAddress)
    let follower = try ClusterNode(
        name: "follower-1", role: .follower(of: replicationAddress), in: dir, replication: replication,
        extra: followerExtra)
    nodes.append(follower)
    return (primary, follower, replicationAddress)
}

/// Creates `ClusterBook`'s accounts and funding on `node`, recorded in `acks`.
func setUpBook(on node: ClusterNode, acks: AckLog) async throws {
    let setup = try client(node.clientAddress)
    try await ClusterBook.setUp(setup, acks: acks, node: node.clientAddress)
    await setup.close()
}

/// Waits (up to `timeout` s) until `address` answers a lookup of every id; returns the
/// transfers found, or nil on timeout.
func waitForTransfers(_ ids: [UInt128], on address: String, timeout: Double = 30) async throws -> [Transfer]? {
    let c = try client(address, timeout: .seconds(5))
    let deadline = monotonicClockSeconds() + timeout
    while monotonicClockSeconds() < deadline {
        if let found = try? await c.lookupTransfers(ids), found.count == ids.count {
            await c.close()
            return found
        }
        try? await Task.sleep(for: .milliseconds(100))
    }
    await c.close()
    return nil
}

/// Creates one more transfer on the primary (after everything else) and waits until
/// every follower answers it: the followers then hold every record the primary logged
/// before it (records apply in order). `id` must be fresh.
func syncPoint(primary: ClusterNode, followers: [ClusterNode], acks: AckLog, id: UInt128,
               token: KaminoToken? = nil) async throws {
    let c = try client(primary.clientAddress, token: token)
    let sentinel = Transfer(id: id, debitAccountId: ClusterBook.bank, creditAccountId: ClusterBook.customer(0), amount: 1,
                            ledger: ClusterBook.ledger, code: 99)
    let results = try await c.createTransfers([sentinel])
    await c.close()
    try #require(acks.recordTransfers([sentinel], results: results, node: primary.clientAddress) == 1,
                 "the sentinel transfer was not created: \(results)")
    for f in followers {
        let found = try await waitForTransfers([id], on: f.clientAddress)
        try #require(found != nil, "\(f.name) did not apply the sentinel transfer within 30 s:\n\(tail(f.log))")
    }
}

/// Stops every running node (followers first) and returns each node's `wal replay`
/// digest by name.
func stopAndDigest(_ nodes: [ClusterNode]) throws -> [String: String] {
    for n in nodes.reversed() { n.terminate() }
    var digests: [String: String] = [:]
    for n in nodes { digests[n.name] = try n.digest() }
    return digests
}

/// Expects every digest to be the primary's.
func expectSameDigests(_ digests: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
    let distinct = Set(digests.values)
    #expect(distinct.count == 1, "digests differ: \(digests)", sourceLocation: sourceLocation)
}

/// Kills every node still running and removes the cluster's directory (test teardown).
func tearDown(_ nodes: [ClusterNode?], _ directory: ClusterDirectory) {
    for n in nodes { n?.kill9() }
    directory.remove()
}

/// The last lines of a log, for failure messages.
func tail(_ text: String, lines: Int = 25) -> String {
    text.split(separator: "\n").suffix(lines).joined(separator: "\n")
}

/// Compares the transfers a follower answers with the primary's for the same ids
/// (every field, timestamps included).
func expectSameReads(_ ids: [UInt128], primary: ClusterNode, follower: ClusterNode) async throws {
    let onFollower = try await waitForTransfers(ids, on: follower.clientAddress)
    let p = try client(primary.clientAddress)
    let onPrimary = try await p.lookupTransfers(ids)
    await p.close()
    #expect(onFollower == onPrimary, "\(follower.name) reads differ from the primary's")
}
