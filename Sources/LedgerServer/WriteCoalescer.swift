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
/// the loop in one hop. There a connection's consecutive replies in the record are written
/// unflushed but the last, which flushes them all (one `write` system call per connection
/// and record, not per reply). Confined to its event loop (reached through `NIOLoopBound`).
final class WriteCoalescer {
    /// One decoded create request waiting for its flush.
    private struct Entry {
        let id: UInt64
        let request: Request
        /// The connection that answers it (no closure per request: `ReplyRoute`).
        let session: SessionHandler
        let route: ReplyRoute
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
    /// `session.answered(_:to:route:)` is called on the loop with its reply.
    /// `bodyChecksum`: the request body's wire checksum, verified against the bytes its
    /// events were copied from.
    func submit(_ request: Request, id: UInt64, bodyChecksum: UInt32, session: SessionHandler, route: ReplyRoute) {
        eventLoop.assertInEventLoop()
        assert(Self.events(of: request) != nil, "only create requests are coalesced")
        pending.append(Entry(id: id, request: request, session: session, route: route, code: request.code,
                             eventCount: request.eventCount, bodyChecksum: bodyChecksum))
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
            // Emptying `entries` keeps its capacity for the next turn (when no record
            // shares its buffer; one that does took it as a whole, `Array(run)`).
            entries.removeAll(keepingCapacity: entries.capacity <= Self.spareCapacityLimit)
            spare = entries
        }
        guard let ledger else {
            Self.answerAll(entries[...]) { e in
                .errorReply(ErrorReply(
                    requestId: e.id, operation: e.code, rawCode: WireError.Code.busy.rawValue,
                    message: "the node is reopening its data directory (replication); not executed, retry"))
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
            Self.answerAll(run) { e in .errorReply(RequestExecutor.errorReply(error, request: e.request, id: e.id)) }
            return
        }
        let lsn = write.batch.lsn
        let loop = eventLoop
        // Not the slice: it would keep the whole turn's array until the record is durable
        // (tried in session 12: slower at 256 × 1, docs/benchmarks.md).
        let bound = NIOLoopBound(Array(run), eventLoop: loop)
        ledger.whenSettled(write) { outcome in
            if loop.inEventLoop {
                Self.deliver(outcome, to: bound.value[...], lsn: lsn)
            } else {
                loop.execute { Self.deliver(outcome, to: bound.value[...], lsn: lsn) }
            }
        }
    }

    /// Answers every request of `run` with `reply(entry)`.
    private static func answerAll(_ run: ArraySlice<Entry>, _ reply: (Entry) -> Message) {
        // By index: `for e in run` would copy each entry (its request and references).
        for i in run.indices { answer(run, at: i, with: reply(run[i])) }
    }

    /// Writes the reply of `run[i]` to its connection, flushed only if the next entry is
    /// another connection's: a connection's consecutive replies (its pipelined requests,
    /// decoded by one read) leave in one flush, and a connection with one reply in the
    /// record gets one `writeAndFlush` (a separate write and flush cost NIO about 500
    /// instructions more).
    @inline(__always)
    private static func answer(_ run: ArraySlice<Entry>, at i: Int, with reply: Message) {
        let next = i + 1
        let last = next == run.endIndex || run[next].session !== run[i].session
        run[i].session.answered(reply, to: run[i].request, route: run[i].route, flush: last)
    }

    /// Answers each request of a record with its own slice of the results.
    private static func deliver(_ outcome: Result<BatchResults, EngineError>, to run: ArraySlice<Entry>, lsn: UInt64) {
        let results: BatchResults
        switch outcome {
        case .success(let r): results = r
        case .failure(let error):
            answerAll(run) { e in .errorReply(RequestExecutor.errorReply(error, request: e.request, id: e.id)) }
            return
        }
        switch results {
        case .accounts(let r):
            precondition(run.count == 1, "a plain batch answers one request")
            answer(run, at: run.startIndex, with: .reply(id: run[run.startIndex].id, .createAccounts(r), stateLSN: lsn))
        case .transfers(let r):
            precondition(run.count == 1, "a plain batch answers one request")
            answer(run, at: run.startIndex, with: .reply(id: run[run.startIndex].id, .createTransfers(r), stateLSN: lsn))
        case .accountRequests(let each):
            precondition(each.count == run.count, "a coalesced record answers each of its requests")
            // By index: `zip` would copy each entry (its request and references) out of the array.
            // `each` counts from 0, `run` from its start index (0 here, kept general).
            for i in run.indices {
                let results = each[i - run.startIndex]
                answer(run, at: i, with: .reply(id: run[i].id, .createAccounts(results), stateLSN: lsn))
            }
        case .transferRequests(let each):
            precondition(each.count == run.count, "a coalesced record answers each of its requests")
            for i in run.indices {
                let results = each[i - run.startIndex]
                answer(run, at: i, with: .reply(id: run[i].id, .createTransfers(results), stateLSN: lsn))
            }
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
