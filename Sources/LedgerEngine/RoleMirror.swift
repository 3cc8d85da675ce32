import Synchronization

/// A copy of a durable ledger's role that is read without the ledger's lock: the ledger
/// sets it under its lock whenever the role changes (`DurableLedger.State.role`), so a
/// reader sees every change made before it reads. Its own lock is a leaf (held for a copy).
final class RoleMirror: Sendable {
    private let current: Mutex<NodeRole>

    init(_ role: NodeRole) {
        current = Mutex(role)
    }

    /// The role as last set.
    var value: NodeRole { current.withLock { $0 } }

    /// Records a new role (called from the ledger's lock).
    func set(_ role: NodeRole) {
        current.withLock { $0 = role }
    }
}
