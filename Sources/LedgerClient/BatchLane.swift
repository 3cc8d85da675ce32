/// Automatic batching for one operation: while a request of this lane is in flight,
/// new calls queue; when it completes, the queue leaves as few requests as possible
/// (each up to `maxBatchSize` events, sent together, pipelined), and each caller gets
/// exactly its own part of the reply.
///
/// A caller's events are never split or reordered: a call that does not fit in the
/// current request starts the next one.
actor BatchLane<Kind: BatchKind> {
    /// One caller waiting for its results.
    private struct Call {
        var events: [Kind.Event]
        var continuation: CheckedContinuation<Result<[Kind.Output], KaminoClientError>, Never>
    }

    private let executor: RequestExecutor
    private let maxBatchSize: Int
    private var queue: [Call] = []
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
        return await withCheckedContinuation { continuation in
            queue.append(Call(events: events, continuation: continuation))
            flushIfIdle()
        }
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
                for (call, part) in zip(batch, parts) { call.continuation.resume(returning: .success(part)) }
            } else {
                let e = KaminoClientError(.invalidReply, "the reply does not answer the merged request")
                for call in batch { call.continuation.resume(returning: .failure(e)) }
            }
        case .failure(let error):
            for call in batch { call.continuation.resume(returning: .failure(error)) }
        }
        inFlight -= 1
        flushIfIdle()
    }
}
