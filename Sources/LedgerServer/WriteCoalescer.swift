import LedgerCore
import LedgerEngine
import LedgerWire
import NIOCore

/// Gathers the create requests one event loop decodes in one turn of its loop and logs
/// them in as few records as it can: consecutive requests of one operation share a
/// coalesced record (`BatchEvents.accountRequests`/`transferRequests`), each applied as
/// its own batch with its own results, chains and timestamps, exactly as if it had come
/// alone. One request alone is logged as a plain batch.
///
/// No task and no lock per request: the first request of a turn schedules one flush on
/// the loop (it runs after the loop has read every ready connection), the flush logs the
/// records, and the log's durability callback hands every request of a record back to
/// the loop in one hop. Confined to its event loop (reached through `NIOLoopBound`).
final class WriteCoalescer {
    /// A request's outcome: the reply's message, and nothing else to do.
    typealias Answer = (Message) -> Void

    /// One decoded create request waiting for its flush.
    private struct Entry {
        let id: UInt64
        let request: Request
        let answer: Answer
        /// The request's operation code and event count, read once at `submit` (reading
        /// them from `request` again copies and destroys the enum each time).
        let code: UInt8
        let eventCount: Int
        /// The request body's wire checksum, verified on receipt: the log record's body
        /// checksum when the request is logged alone (`ReceivedMessage`).
        let bodyChecksum: UInt32
    }

    /// Requests in one record: at most this many events in all (a record is one batch's
    /// worth of the state's capacity checks).
    static let maxEventsPerRecord = LedgerLimits.batchMax

    /// The most entries whose room `spare` keeps between turns (a burst's array goes).
    static let spareCapacityLimit = 4096

    private let eventLoop: any EventLoop
    /// Where the ledger served now is found (it changes when a replicated node reopens).
    private unowned let shared: ServerShared
    /// Touched by `submit` and `flush` only, on the loop, never while the other runs (the
    /// flush takes the array before it logs): the dynamic exclusivity check is off.
    @exclusivity(unchecked) private var pending: [Entry] = []
    /// The array of the previous flush, emptied with its capacity kept: the next turn
    /// appends into it instead of growing a new array from nothing (a reallocation at
    /// each power of two of the requests a turn gathers).
    @exclusivity(unchecked) private var spare: [Entry] = []
    private var flushScheduled = false

    init(eventLoop: any EventLoop, shared: ServerShared) {
        self.eventLoop = eventLoop
        self.shared = shared
    }

    /// Queues a `create_accounts` or `create_transfers` request for this turn's flush;
    /// `answer` is called on the loop with its reply. `bodyChecksum`: the request body's
    /// wire checksum, verified against the bytes its events were copied from.
    func submit(_ request: Request, id: UInt64, bodyChecksum: UInt32, answer: @escaping Answer) {
        eventLoop.assertInEventLoop()
        assert(Self.events(of: request) != nil, "only create requests are coalesced")
        pending.append(Entry(id: id, request: request, answer: answer, code: request.code, eventCount: request.eventCount,
                             bodyChecksum: bodyChecksum))
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { bound.value.flush() }
    }

    /// Logs everything gathered this turn, in arrival order.
    private func flush() {
        eventLoop.assertInEventLoop()
        let ledger = shared.ledger
        var entries = pending
        pending = spare
        spare = []
        flushScheduled = false
        defer {
            // `entries` is the only reference left to its buffer (each record took its
            // own copy of its run): emptying it keeps the capacity for the next turn.
            entries.removeAll(keepingCapacity: entries.capacity <= Self.spareCapacityLimit)
            spare = entries
        }
        guard let ledger else {
            for e in entries {
                e.answer(.errorReply(ErrorReply(
                    requestId: e.id, operation: e.code, rawCode: WireError.Code.busy.rawValue,
                    message: "the node is reopening its data directory (replication); not executed, retry")))
            }
            return
        }
        var start = 0
        while start < entries.count {
            let end = Self.runEnd(entries, from: start)
            log(entries[start..<end], ledger: ledger)
            start = end
        }
    }

    /// The end of the run of requests from `start` that share one record: same operation,
    /// at most `maxEventsPerRecord` events (a request alone may hold up to that many).
    private static func runEnd(_ entries: [Entry], from start: Int) -> Int {
        let operation = entries[start].code
        var events = entries[start].eventCount
        var end = start + 1
        while end < entries.count, entries[end].code == operation {
            events += entries[end].eventCount
            guard events <= maxEventsPerRecord else { break }
            end += 1
        }
        assert(end > start, "a run holds at least one request")
        return end
    }

    /// Logs one run as one record and answers its requests when it settles. A coalesced
    /// record the state refuses as a whole (its store would overflow) is retried request
    /// by request, so each gets the answer it would get alone.
    private func log(_ run: ArraySlice<Entry>, ledger: DurableLedger) {
        let events: BatchEvents
        var bodyChecksum: UInt32?
        if run.count == 1, let only = run.first {
            guard let e = Self.events(of: only.request) else { preconditionFailure("only create requests are coalesced") }
            events = e
            bodyChecksum = only.bodyChecksum
        } else {
            events = Self.coalesced(run)
        }
        let write: DurableLedger.EnqueuedWrite
        do {
            write = try ledger.enqueueWrite(events, wireChecksum: bodyChecksum)
        } catch {
            if error.code == .batchRefused, run.count > 1 {
                for i in run.indices { log(run[i...i], ledger: ledger) }
                return
            }
            for e in run { e.answer(.errorReply(RequestExecutor.errorReply(error, request: e.request, id: e.id))) }
            return
        }
        let lsn = write.batch.lsn
        let loop = eventLoop
        let bound = NIOLoopBound(Array(run), eventLoop: loop)
        ledger.whenSettled(write) { outcome in
            if loop.inEventLoop {
                Self.deliver(outcome, to: bound.value, lsn: lsn)
            } else {
                loop.execute { Self.deliver(outcome, to: bound.value, lsn: lsn) }
            }
        }
    }

    /// Answers each request of a record with its own slice of the results.
    private static func deliver(_ outcome: Result<BatchResults, EngineError>, to run: [Entry], lsn: UInt64) {
        let results: BatchResults
        switch outcome {
        case .success(let r): results = r
        case .failure(let error):
            for e in run { e.answer(.errorReply(RequestExecutor.errorReply(error, request: e.request, id: e.id))) }
            return
        }
        switch results {
        case .accounts(let r):
            precondition(run.count == 1, "a plain batch answers one request")
            run[0].answer(.reply(id: run[0].id, .createAccounts(r), stateLSN: lsn))
        case .transfers(let r):
            precondition(run.count == 1, "a plain batch answers one request")
            run[0].answer(.reply(id: run[0].id, .createTransfers(r), stateLSN: lsn))
        case .accountRequests(let each):
            precondition(each.count == run.count, "a coalesced record answers each of its requests")
            // By index: `zip` would copy each entry (its request and closure) out of the array.
            for i in run.indices { run[i].answer(.reply(id: run[i].id, .createAccounts(each[i]), stateLSN: lsn)) }
        case .transferRequests(let each):
            precondition(each.count == run.count, "a coalesced record answers each of its requests")
            for i in run.indices { run[i].answer(.reply(id: run[i].id, .createTransfers(each[i]), stateLSN: lsn)) }
        case .none:
            preconditionFailure("a create batch answered as a pulse")
        }
    }

    /// The events of a create request (nil for any other request).
    static func events(of request: Request) -> BatchEvents? {
        switch request {
        case .createAccounts(let a): return .accounts(a)
        case .createTransfers(let t): return .transfers(t)
        default: return nil
        }
    }

    /// One coalesced record for a run of requests of one operation.
    private static func coalesced(_ run: ArraySlice<Entry>) -> BatchEvents {
        switch run.first?.request {
        case .createAccounts:
            return .accountRequests(run.map { e in
                guard case .createAccounts(let a) = e.request else { preconditionFailure("a run mixes operations") }
                return a
            })
        case .createTransfers:
            return .transferRequests(run.map { e in
                guard case .createTransfers(let t) = e.request else { preconditionFailure("a run mixes operations") }
                return t
            })
        default:
            preconditionFailure("only create requests are coalesced")
        }
    }
}
