import LedgerCore
import LedgerWire

/// `create_accounts`: results sliced by position.
enum CreateAccountsKind: BatchKind {
    static func request(_ events: [Account]) -> Request { .createAccounts(events) }
    static func split(_ reply: Reply, among calls: [[Account]]) -> [[CreateAccountResult]]? {
        guard case .createAccounts(let results) = reply else { return nil }
        return slice(results, among: calls)
    }
    static func answer(_ reply: Reply, to events: [Account]) -> [CreateAccountResult]? {
        guard case .createAccounts(let results) = reply, results.count == events.count else { return nil }
        return results
    }
    static func mustGoAlone(_ events: [Account]) -> Bool { events.first?.flags.contains(.imported) ?? false }
    static func mustEndRequest(_ events: [Account]) -> Bool { events.last?.flags.contains(.linked) ?? false }
}

/// `create_transfers`: results sliced by position.
enum CreateTransfersKind: BatchKind {
    static func request(_ events: [Transfer]) -> Request { .createTransfers(events) }
    static func split(_ reply: Reply, among calls: [[Transfer]]) -> [[CreateTransferResult]]? {
        guard case .createTransfers(let results) = reply else { return nil }
        return slice(results, among: calls)
    }
    static func answer(_ reply: Reply, to events: [Transfer]) -> [CreateTransferResult]? {
        guard case .createTransfers(let results) = reply, results.count == events.count else { return nil }
        return results
    }
    static func mustGoAlone(_ events: [Transfer]) -> Bool { events.first?.flags.contains(.imported) ?? false }
    static func mustEndRequest(_ events: [Transfer]) -> Bool { events.last?.flags.contains(.linked) ?? false }
}

/// `lookup_accounts`: records matched to callers by id.
enum LookupAccountsKind: BatchKind {
    static func request(_ events: [UInt128]) -> Request { .lookupAccounts(events) }
    static func split(_ reply: Reply, among calls: [[UInt128]]) -> [[Account]]? {
        guard case .lookupAccounts(let records) = reply else { return nil }
        return byId(records, id: \.id, among: calls)
    }
    static func answer(_ reply: Reply, to events: [UInt128]) -> [Account]? {
        guard case .lookupAccounts(let records) = reply else { return nil }
        return exactOrById(records, id: \.id, asked: events)
    }
}

/// `lookup_transfers`: records matched to callers by id.
enum LookupTransfersKind: BatchKind {
    static func request(_ events: [UInt128]) -> Request { .lookupTransfers(events) }
    static func split(_ reply: Reply, among calls: [[UInt128]]) -> [[Transfer]]? {
        guard case .lookupTransfers(let records) = reply else { return nil }
        return byId(records, id: \.id, among: calls)
    }
    static func answer(_ reply: Reply, to events: [UInt128]) -> [Transfer]? {
        guard case .lookupTransfers(let records) = reply else { return nil }
        return exactOrById(records, id: \.id, asked: events)
    }
}
