/// Automatic batching for one operation: while a request of this lane is in flight,
/// new calls queue; when it completes, the queue leaves as few requests as possible
/// (each up to `maxBatchSize` events, sent together, pipelined), and each caller gets
/// exactly its own part of the reply.
///
/// A caller's events are never split or reordered: a call that does not fit in the
/// current request starts the next one.
///
/// A caller whose task is cancelled is resumed at once with `cancelled`: if its call is
/// still queued it leaves the queue and is never sent; if it is in flight its part of
/// the reply is dropped.
actor BatchLane<Kind: BatchKind> {
    /// One caller's events, queued or in flight.
    private struct Call {
        var id: UInt64
        var events: [Kind.Event]
    }

    private typealias Waiter = CheckedContinuation<Result<[Kind.Output], KaminoClientError>, Never>

    private let executor: RequestExecutor
    private let maxBatchSize: Int
    private var queue: [Call] = []
    /// Every caller not yet resumed, queued or in flight, by call id.
    private var waiters: [UInt64: Waiter] = [:]
    private var nextId: UInt64 = 0
    private var inFlight = 0

    init(executor: RequestExecutor, maxBatchSize: Int) {
        self.executor = executor
        self.maxBatchSize = maxBatchSize
    }

    /// Queues `events` and returns the caller's results.
    func submit(_ events: [Kind.Event]) async -> Result<[Kind.Output], KaminoClientError> {
        if events.isEmpty { return .success([]) }
        guard events.count <= maxBatchSize else {
            return .failure(KaminoClientError(.invalidArgument, "\(events.count) events; at most \(maxBatchSize) per call"))
        }
        nextId += 1
        let id = nextId
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                // Cancelled before queuing: the handler below found nothing to cancel.
                guard !Task.isCancelled else {
                    continuation.resume(returning: .failure(Self.cancelled(sent: false)))
                    return
                }
                waiters[id] = continuation
                queue.append(Call(id: id, events: events))
                flushIfIdle()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    /// Resumes a cancelled caller, and takes its call out of the queue if it is still there.
    private func cancel(_ id: UInt64) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        let queued = queue.firstIndex { $0.id == id }
        if let queued { queue.remove(at: queued) }
        waiter.resume(returning: .failure(Self.cancelled(sent: queued == nil)))
    }

    private static func cancelled(sent: Bool) -> KaminoClientError {
        sent
            ? KaminoClientError(.cancelled, "cancelled after the request was sent: it may have been applied")
            : KaminoClientError(.cancelled, "cancelled before the request was sent")
    }

    /// Sends everything queued when nothing is in flight.
    private func flushIfIdle() {
        guard inFlight == 0 else { return }
        while !queue.isEmpty {
            let batch = takeBatch()
            inFlight += 1
            Task { await self.run(batch) }
        }
    }

    /// Removes and returns the calls of the next request, in queue order.
    private func takeBatch() -> [Call] {
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

    private func run(_ batch: [Call]) async {
        let calls = batch.map(\.events)
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
        inFlight -= 1
        flushIfIdle()
    }

    /// Resumes a caller unless it was cancelled (and so resumed) already.
    private func resume(_ id: UInt64, _ result: Result<[Kind.Output], KaminoClientError>) {
        waiters.removeValue(forKey: id)?.resume(returning: result)
    }
}
