/// A whole, validated message: what `KaminoMessageDecoder` yields and
/// `KaminoMessageEncoder` writes.
package enum Message: Sendable, Hashable {
    case request(id: UInt64, Request)
    /// A reply and its header's `state_lsn` (the LSN of the state it reflects; 0 when
    /// the server does not say, as for `status` and `promote`).
    case reply(id: UInt64, Reply, stateLSN: UInt64 = 0)
    case errorReply(ErrorReply)

    /// The request id in the header.
    package var requestId: UInt64 {
        switch self {
        case .request(let id, _), .reply(let id, _, _): return id
        case .errorReply(let e): return e.requestId
        }
    }
}
