/// A whole, validated message: what `KaminoMessageDecoder` yields and
/// `KaminoMessageEncoder` writes.
package enum Message: Sendable, Hashable {
    case request(id: UInt64, Request)
    case reply(id: UInt64, Reply)
    case errorReply(ErrorReply)

    /// The request id in the header.
    package var requestId: UInt64 {
        switch self {
        case .request(let id, _), .reply(let id, _): return id
        case .errorReply(let e): return e.requestId
        }
    }
}
