import LedgerCore
import Synchronization

/// `kamino_results_total{operation,status}`: events answered, by create operation and
/// result status. Counted with one relaxed atomic add per reply and rendered in the exact
/// text swift-prometheus renders for the counters it replaces (same name, help, labels and
/// integer values); `ServerMetrics.render` appends it after the registry's families.
///
/// The registry's counters were looked up per reply under a lock in a dictionary (about
/// 300 instructions), and a lock-free cache of them (`AtomicLazyReference`) costs more
/// still: its `load` is an unspecialized generic call (about 640 instructions).
///
/// A series appears once it counted an event, as the lazily made counters did.
final class ResultCounts: Sendable {
    /// The family's name and help (as the registry-made counters had them).
    static let name = "kamino_results_total"
    static let help = "Events answered, by operation and result status."

    /// Events per create operation and status: slot `operation slot * 256 + status + 1`
    /// (`created`, 0xFFFF_FFFF, is status slot 0; see `slot`).
    private let counts: InlineArray<512, Atomic<Int>>
    /// Any other pair (an operation or status outside the table: none today), under a lock.
    private let others = Mutex<[Key: Int]>([:])

    private struct Key: Hashable {
        let operation: UInt8
        let status: UInt32
    }

    init() {
        counts = InlineArray { _ in Atomic(0) }
    }

    /// The table slot of `operation`'s `status` (nil outside the table).
    private static func slot(operation: UInt8, status: UInt32) -> Int? {
        let shifted = status &+ 1
        guard shifted < 256 else { return nil }
        switch operation {
        case Operation.createAccounts.rawValue: return Int(shifted)
        case Operation.createTransfers.rawValue: return 256 + Int(shifted)
        default: return nil
        }
    }

    /// Counts `events` events of `operation` answered `status`.
    func add(_ events: Int, operation: UInt8, status: UInt32) {
        precondition(events >= 0, "a count of events is not negative")
        if let slot = Self.slot(operation: operation, status: status) {
            counts[slot].wrappingAdd(events, ordering: .relaxed)
        } else {
            others.withLock { $0[Key(operation: operation, status: status), default: 0] += events }
        }
    }

    /// Appends the family (nothing while no event was counted) as the registry renders
    /// counters: `# HELP`, `# TYPE`, then `name{operation="...",status="..."} value`.
    func emit(into buffer: inout [UInt8]) {
        var series: [(operation: UInt8, status: UInt32, events: Int)] = []
        for (opSlot, operation) in [Operation.createAccounts, .createTransfers].enumerated() {
            for shifted in 0..<256 {
                let n = counts[opSlot * 256 + shifted].load(ordering: .relaxed)
                if n > 0 { series.append((operation.rawValue, UInt32(truncatingIfNeeded: shifted) &- 1, n)) }
            }
        }
        for (key, n) in others.withLock({ $0 }) where n > 0 { series.append((key.operation, key.status, n)) }
        guard !series.isEmpty else { return }
        buffer.append(contentsOf: "# HELP \(Self.name) \(Self.help)\n".utf8)
        buffer.append(contentsOf: "# TYPE \(Self.name) counter\n".utf8)
        for s in series {
            let labels = "operation=\"\(Self.operationName(s.operation))\",status=\"\(Self.statusName(s.status, of: s.operation))\""
            buffer.append(contentsOf: "\(Self.name){\(labels)} \(s.events)\n".utf8)
        }
    }

    /// `create_transfers`, or `op_<code>` for a code that is no operation.
    static func operationName(_ code: UInt8) -> String {
        Operation(rawValue: code).map { ServerMetrics.snakeCase("\($0)") } ?? "op_\(code)"
    }

    /// `exceeds_credits`, or `status_<code>` for a code that is no status of the operation.
    static func statusName(_ raw: UInt32, of operation: UInt8) -> String {
        let name: String?
        switch operation {
        case Operation.createAccounts.rawValue: name = CreateAccountStatus(rawValue: raw).map { ServerMetrics.snakeCase("\($0)") }
        case Operation.createTransfers.rawValue: name = CreateTransferStatus(rawValue: raw).map { ServerMetrics.snakeCase("\($0)") }
        default: name = nil
        }
        return name ?? "status_\(raw)"
    }
}
