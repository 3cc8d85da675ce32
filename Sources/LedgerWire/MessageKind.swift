/// What a message is: the `kind` byte of the header.
package enum MessageKind: UInt8, Sendable, CaseIterable {
    /// Client to server: an operation with its events.
    case request = 1
    /// Server to client: the results of a request.
    case reply = 2
    /// Server to client: the request (or the stream) was rejected; `error_code` says why.
    case errorReply = 3
}
