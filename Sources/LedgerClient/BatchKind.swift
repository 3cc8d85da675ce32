import LedgerWire

/// An operation whose calls can be merged into one request: how to build the request
/// and how to hand each caller its part of the reply.
protocol BatchKind: SendableMetatype {
    /// One event of a call (an account, a transfer, an id).
    associatedtype Event: Sendable
    /// One record of a caller's answer.
    associatedtype Output: Sendable

    /// The request carrying `events`.
    static func request(_ events: [Event]) -> Request
    /// Each caller's part of `reply`, in the order of `calls`; nil when the reply does
    /// not answer the merged request.
    static func split(_ reply: Reply, among calls: [[Event]]) -> [[Output]]?
    /// The answer of `reply` to one call sent alone, as `split` would give it; nil when
    /// the reply does not answer it. (Kinds answer without copying where they can.)
    static func answer(_ reply: Reply, to events: [Event]) -> [Output]?
    /// True when a call must be sent in a request of its own (imported events: the
    /// batch's first event decides its mode).
    static func mustGoAlone(_ events: [Event]) -> Bool
    /// True when a call must be the last of its request (it ends with an open linked
    /// chain, which would otherwise swallow the next caller's events).
    static func mustEndRequest(_ events: [Event]) -> Bool
}

extension BatchKind {
    static func mustGoAlone(_ events: [Event]) -> Bool { false }
    static func mustEndRequest(_ events: [Event]) -> Bool { false }
    static func answer(_ reply: Reply, to events: [Event]) -> [Output]? { split(reply, among: [events])?.first }

    /// Slices `results` by position: caller `i` gets as many results as it had events.
    static func slice<T>(_ results: [T], among calls: [[Event]]) -> [[T]]? {
        guard results.count == calls.reduce(0, { $0 + $1.count }) else { return nil }
        var parts: [[T]] = []
        parts.reserveCapacity(calls.count)
        var start = 0
        for call in calls {
            parts.append(Array(results[start..<start + call.count]))
            start += call.count
        }
        return parts
    }

    /// The records of a lookup sent alone when they are exactly the ids asked, in order
    /// (the usual answer: each id found once), with no copy; otherwise what `byId` gives.
    static func exactOrById<T>(_ records: [T], id: (T) -> UInt128, asked ids: [UInt128]) -> [T]? {
        if records.count == ids.count, zip(records, ids).allSatisfy({ id($0) == $1 }) { return records }
        return byId(records, id: id, among: [ids])?.first
    }

    /// Hands each caller the records of its own ids, in its order: a lookup returns the
    /// records that exist, so a merged reply is matched by id, not by position.
    static func byId<T>(_ records: [T], id: (T) -> UInt128, among calls: [[UInt128]]) -> [[T]]? {
        let asked = Set(calls.joined())
        var found: [UInt128: T] = [:]
        for r in records {
            guard asked.contains(id(r)) else { return nil }
            found[id(r)] = r
        }
        return calls.map { ids in ids.compactMap { found[$0] } }
    }
}
