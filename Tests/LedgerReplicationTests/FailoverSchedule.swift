import KaminoTestSupport

/// A seeded random schedule of faults for a `FailoverCluster` (Jepsen-style): each step
/// either undoes one fault (restarts a killed node, resumes a paused one, heals a
/// partition) or injects one into a healthy node (the primary more often than not):
/// kill -9, SIGSTOP, or a partition (its etcd and replication proxies blackholed). At
/// most two nodes are faulty at once. The same seed gives the same decisions (which node
/// is the primary at each step depends on timing).
struct FaultSchedule {
    private var random: LoadRandom
    private let nodes: [FailoverNode]

    init(seed: UInt64, nodes: [FailoverNode]) {
        random = LoadRandom(state: seed)
        self.nodes = nodes
    }

    /// Milliseconds to wait before the next step (300 to 2,500).
    mutating func nextPause() -> Int { 300 + random.below(2_201) }

    /// Takes one step; returns what it did.
    mutating func step(_ cluster: FailoverCluster) async throws -> String {
        let faulty = nodes.filter { Self.isFaulty($0) }
        if faulty.count >= 2 || (!faulty.isEmpty && random.below(100) < 45) {
            let node = faulty[random.below(faulty.count)]
            return try undo(node)
        }
        let healthy = nodes.filter { !Self.isFaulty($0) }
        guard !healthy.isEmpty else { return "nothing to do" }
        var victim = healthy[random.below(healthy.count)]
        if random.below(100) < 60, let primary = await cluster.primary(), !Self.isFaulty(primary) { victim = primary }
        switch random.below(3) {
        case 0:
            victim.kill9()
            return "kill -9 \(victim.name)"
        case 1:
            victim.pause()
            return "SIGSTOP \(victim.name)"
        default:
            victim.partition()
            return "partition \(victim.name) (etcd and replication proxies blackholed)"
        }
    }

    /// Undoes every fault: heals partitions, resumes paused nodes, restarts killed ones.
    func healAll() throws {
        for node in nodes where Self.isFaulty(node) { _ = try undo(node) }
    }

    private func undo(_ node: FailoverNode) throws -> String {
        if !node.isRunning {
            try node.restart()
            return "restart \(node.name)"
        }
        if node.isPaused {
            node.resume()
            return "SIGCONT \(node.name)"
        }
        node.heal()
        return "heal \(node.name)"
    }

    private static func isFaulty(_ node: FailoverNode) -> Bool { !node.isRunning || node.isPaused || node.isPartitioned }
}
