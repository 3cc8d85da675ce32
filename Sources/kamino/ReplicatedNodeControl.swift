import LedgerEngine
import LedgerReplication
import LedgerServer
import Synchronization

/// The client port's `status` and `promote` for a replicated node. The node is set once
/// it exists (it is made after the client port is bound, to advertise the real port).
final class ReplicatedNodeControl: NodeControl {
    private let node = Mutex<ReplicatedNode?>(nil)

    init() {}

    func attach(_ node: ReplicatedNode) { self.node.withLock { $0 = node } }

    func statusJSON() async -> [UInt8] {
        guard let node = node.withLock({ $0 }) else {
            return Array(StatusJSON.object([("role", StatusJSON.string("starting"))]).utf8)
        }
        return node.status().json()
    }

    func promote() async throws(EngineError) -> [UInt8] {
        guard let node = node.withLock({ $0 }) else {
            throw EngineError(.notFollower, "the node is still starting")
        }
        let epoch = try await node.promote()
        return Array(StatusJSON.object([("role", StatusJSON.string("primary")), ("epoch", "\(epoch)")]).utf8)
    }
}
