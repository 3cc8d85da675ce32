import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Synchronization

/// Creates through a raw connection to one node, on a thread of its own: unlike
/// `KaminoClient`, it never follows `not_primary` to another node, so every transfer it
/// records in the `AckLog` (under `address`) was acknowledged by that node.
final class ProbeLoad: Sendable {
    private let stopped = LoadStop()
    private let thread: Mutex<pthread_t?> = Mutex(nil)

    /// Starts sending batches of four plain transfers (fresh ids from `idBase`) to
    /// 127.0.0.1:`port` until `stop()`.
    init(port: UInt16, address: String, acks: AckLog, idBase: UInt128) {
        let started = startThread { [stopped] in
            var nextId = idBase
            var probe: WireTestClient?
            while !stopped.isSet {
                if probe == nil { probe = WireTestClient(port: port, timeoutSeconds: 2) }
                guard let p = probe else {
                    usleep(50_000)
                    continue
                }
                let batch = (0..<4).map { i -> Transfer in
                    nextId += 1
                    return Transfer(id: nextId, debitAccountId: ClusterBook.customer(i),
                                    creditAccountId: ClusterBook.customer(i + 4), amount: 1, ledger: ClusterBook.ledger,
                                    code: 6)
                }
                switch p.call(.createTransfers(batch)) {
                case .reply(_, .createTransfers(let results), _)?:
                    acks.recordTransfers(batch, results: results, node: address)
                case .errorReply?:
                    usleep(20_000)
                default:
                    probe = nil  // Timeout or closed: reconnect.
                }
            }
        }
        thread.withLock { $0 = started }
    }

    /// Stops the load and joins its thread.
    func stop() {
        stopped.set()
        if let t = thread.withLock({ t -> pthread_t? in
            defer { t = nil }
            return t
        }) {
            pthread_join(t, nil)
        }
    }
}
