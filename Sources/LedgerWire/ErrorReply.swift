/// An error reply as received by a client: the request it answers and why it failed.
package struct ErrorReply: Sendable, Hashable {
    /// The request id of the rejected request; 0 when the server could not read it.
    package var requestId: UInt64
    /// The operation byte of the rejected request; 0 when the server could not read it.
    package var operation: UInt8
    /// The raw `error_code` (kept even when this client does not know it).
    package var rawCode: UInt16
    /// A human-readable explanation (the body, UTF-8; not part of the contract).
    package var message: String

    package init(requestId: UInt64, operation: UInt8, rawCode: UInt16, message: String) {
        self.requestId = requestId
        self.operation = operation
        self.rawCode = rawCode
        self.message = message
    }

    package init(_ error: WireError) {
        self.init(
            requestId: error.requestId ?? 0, operation: error.operation ?? 0,
            rawCode: error.code.rawValue, message: error.detail)
    }

    /// The error code, when this client knows it.
    package var code: WireError.Code? { WireError.Code(rawValue: rawCode) }
}
