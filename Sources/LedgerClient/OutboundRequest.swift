import LedgerWire
import NIOCore

/// What `Connection` writes into the channel: a request, its timeout, and the promise
/// that `ClientChannelHandler` completes with the reply (or an error).
struct OutboundRequest: Sendable {
    var request: Request
    var timeout: TimeAmount
    var promise: EventLoopPromise<AnsweredReply>
}

/// A reply and the `state_lsn` of its header: the LSN of the ledger state it reflects.
struct AnsweredReply: Sendable {
    var reply: Reply
    var stateLSN: UInt64
}
