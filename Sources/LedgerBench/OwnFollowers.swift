import Glibc

/// The followers the bench starts next to its own server (`--followers N --replication MODE`):
/// `kamino follow` processes on 127.0.0.1 with ephemeral ports and temporary data
/// directories. At the end the bench waits until each has made the primary's whole log
/// durable, stops every node and compares each follower's `wal replay` digest with the
/// primary's.
package final class OwnFollowers: @unchecked Sendable {
    // @unchecked: the nodes are only touched by the one task that owns the run.
    package let nodes: [OwnServer]
    private let executable: String

    private init(nodes: [OwnServer], executable: String) {
        self.nodes = nodes
        self.executable = executable
    }

    /// Starts `count` followers of `primary` (started with `--replication`) and waits, up to
    /// 30 s, until the primary has logged `count` `replication: follower connected` lines.
    package static func start(executable: String, primary: OwnServer, count: Int) throws(BenchError) -> OwnFollowers {
        precondition((1...4).contains(count), "1...4 followers (checked by BenchConfiguration.validate)")
        let replication = try primary.awaitLine("replication on ", seconds: 30)
        var nodes: [OwnServer] = []
        for _ in 0..<count {
            // A node that fails to start throws; the ones already started are killed by deinit.
            nodes.append(try OwnServer.start(
                executable: executable, command: "follow", keepData: nil,
                extra: ["--primary", replication, "--replication-listen", "127.0.0.1:0"], metrics: "127.0.0.1:0"))
        }
        let deadline = monotonicNanos() + 30_000_000_000
        var attached = 0
        while true {
            attached = primary.output.split(separator: "\n").count { $0.contains("replication: follower connected") }
            if attached >= count { break }
            guard monotonicNanos() < deadline else {
                throw BenchError(.serverStart, "\(attached) of \(count) followers attached to the primary within 30 s")
            }
            usleep(20_000)
        }
        return OwnFollowers(nodes: nodes, executable: executable)
    }

    /// Waits (up to 60 s) until every follower's durable LSN reaches the primary's, stops
    /// the followers and the primary (data kept), and compares the `wal replay` digests.
    package func finish(primary: OwnServer, mode: BenchReplication) -> ReplicaOutcome {
        var outcome = ReplicaOutcome(followers: nodes.count, mode: mode, digestsEqual: false, detail: "")
        let lagging = awaitCaughtUp(primary: primary)
        for node in nodes { node.halt() }
        primary.halt()
        guard let expected = digest(of: primary.dataDirectory) else {
            outcome.detail = "`wal replay` of the primary gave no digest"
            return outcome
        }
        var problems: [String] = []
        for (i, node) in nodes.enumerated() {
            let got = digest(of: node.dataDirectory)
            if got != expected { problems.append("follower \(i + 1): \(got ?? "no digest")") }
        }
        outcome.digestsEqual = problems.isEmpty
        outcome.detail = problems.isEmpty
            ? "digest \(expected)"
            : "primary \(expected), " + problems.joined(separator: ", ") + (lagging.map { " (\($0))" } ?? "")
        return outcome
    }

    /// Stops the followers (if still running) and removes their data.
    package func stop() {
        for node in nodes { node.stop() }
    }

    /// Polls the metrics endpoints until each follower's durable LSN is at least the
    /// primary's; returns why not after 60 s (nil: caught up).
    private func awaitCaughtUp(primary: OwnServer) -> String? {
        let name = "kamino_log_durable_lsn"
        let deadline = monotonicNanos() + 60_000_000_000
        let primaryMetrics = try? primary.awaitLine("metrics on ", seconds: 1)
        let followerMetrics = nodes.map { try? $0.awaitLine("metrics on ", seconds: 1) }
        var last = "no metrics endpoint answered"
        while monotonicNanos() < deadline {
            if let target = primaryMetrics.flatMap({ MetricsScrape.value(name, at: $0) }) {
                let positions = followerMetrics.map { $0.flatMap { MetricsScrape.value(name, at: $0) } }
                if positions.allSatisfy({ ($0 ?? -1) >= target }) { return nil }
                last = "primary at LSN \(Int(target)), followers at "
                    + positions.map { $0.map { String(Int($0)) } ?? "?" }.joined(separator: ", ")
            }
            usleep(50_000)
        }
        return last
    }

    /// The `digest:` that `kamino wal replay DIR` prints (nil if it failed).
    private func digest(of directory: String) -> String? {
        let output = "/tmp/kamino-bench-replay-\(getpid()).out"
        defer { unlink(output) }
        let (status, text) = OwnServer.runToEnd([executable, "wal", "replay", directory], output: output, seconds: 600)
        guard status == 0 else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("digest: ") }.map { String($0.dropFirst("digest: ".count)) }
    }
}
