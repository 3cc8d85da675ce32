import LedgerWire
import NIOCore

/// What `Connection` hands to `ClientChannelHandler`: a request, its timeout, and the
/// waiter that the handler completes with the reply (or an error).
struct OutboundRequest: Sendable {
    var request: Request
    var timeout: TimeAmount
    var waiter: ReplyWaiter
}

/// A reply and the `state_lsn` of its header: the LSN of the ledger state it reflects.
struct AnsweredReply: Sendable {
    var reply: Reply
    var stateLSN: UInt64
}
