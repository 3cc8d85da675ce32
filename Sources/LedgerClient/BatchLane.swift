import Synchronization

/// Automatic batching for one operation: while `directLimit` requests of this lane are
/// in flight, new calls queue; when one completes, the queue leaves as few requests as
/// possible (each up to `maxBatchSize` events, sent together, pipelined), and each caller
/// gets exactly its own part of the reply.
///
/// A call that finds fewer than `directLimit` requests in flight (and so nothing queued)
/// is sent by the calling task itself: no task, no actor hop, no continuation but the one
/// awaiting its reply. Only merged requests (calls that queued) run on a task of their
/// own, one per request. With a limit of 1, a few concurrent callers (4 per connection in
/// the bench's bank mix) queued behind each other's round trips, and most calls paid a
/// task and a second continuation to save few requests (1.6 calls per merged request).
///
/// A caller's events are never split or reordered: a call that does not fit in the
/// current request starts the next one.
///
/// A caller whose task is cancelled is resumed at once with `cancelled`: if its call is
/// still queued it leaves the queue and is never sent; if it is in flight its part of
/// the reply is dropped.
final class BatchLane<Kind: BatchKind>: Sendable {
    /// One caller's events, queued or in flight.
    private struct Call: Sendable {
        var id: UInt64
        var events: [Kind.Event]
    }

    private typealias Waiter = CheckedContinuation<Result<[Kind.Output], KaminoClientError>, Never>

    /// Everything the lock guards.
    private struct State {
        var queue: [Call] = []
        /// Every queued caller not yet resumed, queued or in flight, by call id.
        var waiters: [UInt64: Waiter] = [:]
        var nextId: UInt64 = 0
        /// Requests of this lane in flight (a direct call counts as one). Invariant:
        /// the queue is empty while fewer than `directLimit` are in flight.
        var inFlight = 0
    }

    private let executor: RequestExecutor
    private let maxBatchSize: Int
    /// Requests in flight below which a call is sent at once rather than queued (at least 1).
    private let directLimit: Int
    private let state = Mutex(State())

    init(executor: RequestExecutor, maxBatchSize: Int, directLimit: Int) {
        precondition(directLimit >= 1, "a lane sends at least one request at a time")
        self.executor = executor
        self.maxBatchSize = maxBatchSize
        self.directLimit = directLimit
    }

    /// Sends `events` (alone, or merged with other callers' calls) and returns the
    /// caller's results.
    @inline(__always)
    func submit(_ events: [Kind.Event]) async -> Result<[Kind.Output], KaminoClientError> {
        if events.isEmpty { return .success([]) }
        guard events.count <= maxBatchSize else {
            return .failure(KaminoClientError(.invalidArgument, "\(events.count) events; at most \(maxBatchSize) per call"))
        }
        let direct = state.withLock { s in
            guard s.inFlight < directLimit else { return false }
            assert(s.queue.isEmpty, "nothing stays queued while fewer than directLimit are in flight")
            s.inFlight += 1
            return true
        }
        if direct {
            let result = await executor.execute(Kind.request(events))
            finish()
            switch result {
            case .success(let reply):
                guard let part = Kind.answer(reply, to: events) else {
                    return .failure(KaminoClientError(.invalidReply, "the reply does not answer the request"))
                }
                return .success(part)
            case .failure(let error):
                return .failure(error)
            }
        }
        return await queued(events)
    }

    /// Queues `events` behind the request in flight and waits for the caller's part of
    /// a merged reply.
    private func queued(_ events: [Kind.Event]) async -> Result<[Kind.Output], KaminoClientError> {
        let id = state.withLock { s in
            s.nextId += 1
            return s.nextId
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                // Cancelled before queuing: the handler below found nothing to cancel.
                guard !Task.isCancelled else {
                    continuation.resume(returning: .failure(Self.cancelled(sent: false)))
                    return
                }
                let batches = state.withLock { s in
                    s.waiters[id] = continuation
                    s.queue.append(Call(id: id, events: events))
                    return takeIfIdle(&s)
                }
                for batch in batches { Task { await self.run(batch) } }
            }
        } onCancel: {
            cancel(id)
        }
    }

    /// Resumes a cancelled caller, and takes its call out of the queue if it is still there.
    private func cancel(_ id: UInt64) {
        let found: (Waiter, Bool)? = state.withLock { s in
            guard let waiter = s.waiters.removeValue(forKey: id) else { return nil }
            let queued = s.queue.firstIndex { $0.id == id }
            if let queued { s.queue.remove(at: queued) }
            return (waiter, queued != nil)
        }
        guard case let (waiter, wasQueued)? = found else { return }
        waiter.resume(returning: .failure(Self.cancelled(sent: !wasQueued)))
    }

    private static func cancelled(sent: Bool) -> KaminoClientError {
        sent
            ? KaminoClientError(.cancelled, "cancelled after the request was sent: it may have been applied").afterSending()
            : KaminoClientError(.cancelled, "cancelled before the request was sent")
    }

    /// A request of this lane completed: sends what queued meanwhile.
    private func finish() {
        let batches = state.withLock { s in
            s.inFlight -= 1
            assert(s.inFlight >= 0, "every finished request was counted in flight")
            return takeIfIdle(&s)
        }
        for batch in batches { Task { await self.run(batch) } }
    }

    /// When fewer than `directLimit` requests are in flight: takes everything queued as
    /// requests (counted in flight) for the caller to start once the lock is released.
    private func takeIfIdle(_ s: inout State) -> [[Call]] {
        guard s.inFlight < directLimit else { return [] }
        var batches: [[Call]] = []
        while !s.queue.isEmpty {
            batches.append(takeBatch(&s.queue))
            s.inFlight += 1
        }
        return batches
    }

    /// Removes and returns the calls of the next request, in queue order.
    private func takeBatch(_ queue: inout [Call]) -> [Call] {
        var count = 0
        var taken = 0
        for call in queue {
            if taken > 0 {
                guard !Kind.mustGoAlone(call.events), count + call.events.count <= maxBatchSize else { break }
            }
            count += call.events.count
            taken += 1
            if Kind.mustGoAlone(call.events) || Kind.mustEndRequest(call.events) { break }
        }
        let batch = Array(queue.prefix(taken))
        queue.removeFirst(taken)
        return batch
    }

    /// Sends one merged request and hands each caller its part.
    private func run(_ batch: [Call]) async {
        let calls = batch.map { $0.events }
        let result = await executor.execute(Kind.request(Array(calls.joined())))
        switch result {
        case .success(let reply):
            if let parts = Kind.split(reply, among: calls) {
                for (call, part) in zip(batch, parts) { resume(call.id, .success(part)) }
            } else {
                let e = KaminoClientError(.invalidReply, "the reply does not answer the merged request")
                for call in batch { resume(call.id, .failure(e)) }
            }
        case .failure(let error):
            for call in batch { resume(call.id, .failure(error)) }
        }
        finish()
    }

    /// Resumes a caller unless it was cancelled (and so resumed) already.
    private func resume(_ id: UInt64, _ result: Result<[Kind.Output], KaminoClientError>) {
        let waiter = state.withLock { s in s.waiters.removeValue(forKey: id) }
        waiter?.resume(returning: result)
    }
}
