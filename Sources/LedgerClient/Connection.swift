import LedgerWire
import NIOCore
import Synchronization

/// One open connection to a server: sends requests and awaits their replies.
///
/// `send` costs the caller no task and no hop but the one to the event loop: the request
/// goes into a lock-protected outbox, and the first request of an empty outbox schedules
/// one drain on the event loop that hands every request waiting by then to the handler
/// and flushes once (so concurrent callers share the event-loop task and the write
/// system call). The handler completes the caller's `ReplyWaiter` when the reply comes.
final class Connection: Sendable {
    /// The channel, with `handler` in its pipeline.
    let channel: any Channel
    /// Where it is connected.
    let address: ServerAddress
    /// The channel's handler, reachable on the event loop without walking the pipeline.
    private let handler: NIOLoopBound<ClientChannelHandler>
    /// Requests handed over since the last drain (a drain is scheduled whenever it is not
    /// empty), and the emptied array of the last drain, kept for its capacity.
    private let outbox = Mutex(Outbox())

    /// The outbox's two arrays: swapping them makes a drain allocate nothing.
    private struct Outbox {
        var queue: [OutboundRequest] = []
        var spare: [OutboundRequest] = []
    }

    /// Wraps `channel`, whose pipeline holds `handler`; call on the channel's event loop.
    init(channel: any Channel, handler: ClientChannelHandler, address: ServerAddress) {
        self.channel = channel
        self.address = address
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// False once the connection is closed; a new one is then needed.
    var isActive: Bool { channel.isActive }

    /// Sends `request` and waits for its reply, at most `timeout`. A cancelled caller is
    /// resumed at once with `cancelled` (the request may have been sent and applied).
    @inline(__always)
    func send(_ request: Request, timeout: TimeAmount) async -> Result<AnsweredReply, KaminoClientError> {
        let waiter = ReplyWaiter()
        let outbound = OutboundRequest(request: request, timeout: timeout, waiter: waiter)
        let first = outbox.withLock { box in
            box.queue.append(outbound)
            return box.queue.count == 1
        }
        if first { channel.eventLoop.execute { self.drain() } }
        return await withTaskCancellationHandler {
            await waiter.wait()
        } onCancel: {
            waiter.complete(
                .failure(
                    KaminoClientError(.cancelled, "cancelled after the request was sent: it may have been applied")
                        .afterSending()))
        }
    }

    /// On the event loop: hands every waiting request to the handler, flushing once.
    private func drain() {
        var requests = outbox.withLock { box in
            assert(box.spare.isEmpty, "drains run one at a time, on the event loop")
            var taken: [OutboundRequest] = []
            swap(&taken, &box.spare)
            swap(&taken, &box.queue)
            return taken
        }
        assert(!requests.isEmpty, "a drain is scheduled by the request that made the outbox non-empty")
        handler.value.submitAndFlush(requests)
        requests.removeAll(keepingCapacity: true)
        outbox.withLock { box in
            if box.spare.capacity < requests.capacity { box.spare = requests }
        }
    }

    /// Takes no new request and closes once the requests in flight are answered.
    func retire() {
        channel.pipeline.fireUserInboundEventTriggered(ClientChannelHandler.Retire())
    }

    /// Closes the connection; requests in flight fail with `connectionFailed`.
    func close() {
        channel.close(promise: nil)
    }
}
