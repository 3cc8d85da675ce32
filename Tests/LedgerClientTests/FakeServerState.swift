import LedgerCore
import LedgerWire
import NIOCore
import Synchronization

/// What the fake server shares between its connections, behind a lock.
final class FakeServerState: Sendable {
    /// The mutable part.
    private struct Inner {
        var ledger = FakeLedger()
        var behavior: FakeServerBehavior = .normal
        var requests: [UInt8: Int] = [:]
        var children: [any Channel] = []
        /// Replies held by `.holdUntilReleased`, with their connections.
        var held: [(any Channel, Message)] = []
        /// Tasks waiting in `waitForRequests`.
        var watchers: [Watcher] = []
    }

    /// A task waiting until `count` requests for `operation` have been received.
    private struct Watcher {
        let operation: LedgerCore.Operation
        let count: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    /// What to do with one request.
    enum Action {
        case reply(Message)
        case hold(Message, count: Int)
        case dropConnection
        case corrupt
        case nothing
    }

    private let inner = Mutex(Inner())

    /// Sets how later requests are answered.
    func setBehavior(_ behavior: FakeServerBehavior) {
        inner.withLock { $0.behavior = behavior }
    }

    /// Requests received for `operation`.
    func requests(_ operation: LedgerCore.Operation) -> Int {
        inner.withLock { $0.requests[operation.rawValue, default: 0] }
    }

    /// Returns once `count` requests for `operation` have been received (a signal, not
    /// polling), or when the waiting task is cancelled (a test's time limit).
    func waitForRequests(_ operation: LedgerCore.Operation, count: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = inner.withLock { s -> Bool in
                    guard s.requests[operation.rawValue, default: 0] < count, !Task.isCancelled else { return true }
                    s.watchers.append(Watcher(operation: operation, count: count, continuation: continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let all = inner.withLock { s in
                defer { s.watchers = [] }
                return s.watchers
            }
            for watcher in all { watcher.continuation.resume() }
        }
    }

    /// Remembers a connection so that `closeChildren` can close it.
    func add(_ channel: any Channel) {
        inner.withLock { $0.children.append(channel) }
    }

    /// Closes every connection accepted so far.
    func closeChildren() {
        let all = inner.withLock { s in
            let c = s.children
            s.children = []
            return c
        }
        for c in all { c.close(promise: nil) }
    }

    /// Sends every reply held by `.holdUntilReleased`, in arrival order.
    func releaseHeld() {
        let all = inner.withLock { s in
            let h = s.held
            s.held = []
            return h
        }
        for (channel, message) in all {
            var b = channel.allocator.buffer(capacity: 256)
            try? MessageEncoding.encode(message, into: &b)
            channel.writeAndFlush(b, promise: nil)
        }
    }

    /// Counts and (depending on the behavior) executes one request.
    func handle(_ request: Request, id: UInt64, channel: any Channel) -> Action {
        let (action, woken) = inner.withLock { s -> (Action, [CheckedContinuation<Void, Never>]) in
            s.requests[request.code, default: 0] += 1
            let received = s.requests[request.code, default: 0]
            let reached = { (w: Watcher) in w.operation.rawValue == request.code && w.count <= received }
            let woken = s.watchers.filter(reached).map(\.continuation)
            s.watchers.removeAll(where: reached)
            return (Self.act(on: request, id: id, channel: channel, &s), woken)
        }
        for w in woken { w.resume() }
        return action
    }

    /// What the behavior says to do with `request` (under the lock).
    private static func act(on request: Request, id: UInt64, channel: any Channel, _ s: inout Inner) -> Action {
        switch s.behavior {
        case .normal:
            return .reply(s.ledger.execute(request, id: id))
        case .silent:
            return .nothing
        case .corrupt:
            return .corrupt
        case .holdAndReverse(let count):
            return .hold(s.ledger.execute(request, id: id), count: count)
        case .holdUntilReleased(let code):
            var message = s.ledger.execute(request, id: id)
            if let code {
                message = .errorReply(
                    ErrorReply(requestId: id, operation: request.code, rawCode: code, message: "late"))
                s.behavior = .holdUntilReleased(firstErrorCode: nil)
            }
            s.held.append((channel, message))
            return .nothing
        case .dropAfterExecuting(let count):
            let message = s.ledger.execute(request, id: id)
            guard request.ledgerOperation?.isMutating == true, count > 0 else { return .reply(message) }
            s.behavior = count > 1 ? .dropAfterExecuting(count: count - 1) : .normal
            return .dropConnection
        case .executeThenError(let code):
            _ = s.ledger.execute(request, id: id)
            s.behavior = .normal
            return .reply(
                .errorReply(ErrorReply(requestId: id, operation: request.code, rawCode: code, message: "quorum timed out")))
        case .follower(let primary, let stateLSN):
            guard request.ledgerOperation?.isMutating == true else {
                return .reply(s.ledger.read(request, id: id, stateLSN: stateLSN))
            }
            return .reply(
                .errorReply(
                    ErrorReply(
                        requestId: id, operation: request.code, rawCode: WireError.Code.notPrimary.rawValue,
                        message: "\(primary ?? "")\nthis node is a follower")))
        }
    }
}
