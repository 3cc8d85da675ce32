import LedgerCore
package import NIOCore

/// Writes whole messages (header, body, both checksums) into a `ByteBuffer`.
package enum MessageEncoding {
    /// Appends `message` to `out`. Throws `tooManyEvents` (writing nothing) when it holds
    /// more than `WireLimits.batchMax` events or records.
    package static func encode(_ message: Message, into out: inout ByteBuffer) throws(WireError) {
        switch message {
        case .request(let id, let request): try encode(request, id: id, into: &out)
        case .reply(let id, let reply, let lsn): try encode(reply, id: id, stateLSN: lsn, into: &out)
        case .errorReply(let e): encode(e, into: &out)
        }
    }

    /// Appends a request frame.
    package static func encode(_ request: Request, id: UInt64, into out: inout ByteBuffer) throws(WireError) {
        let count = request.eventCount
        try checkCount(count, id: id, operation: request.code)
        frame(operation: request.code, kind: .request, id: id, count: count, into: &out) { b in
            switch request {
            case .lookupAccounts(let ids), .lookupTransfers(let ids):
                b.writeRecords(size: ids.count * RecordCodec.idSize) { RecordCodec.encodeIds(ids, into: &$0) }
            case .getAccountTransfers(let f), .getAccountBalances(let f):
                b.writeRecords(size: RecordCodec.accountFilterSize) { RecordCodec.encode(f, into: &$0) }
            case .queryAccounts(let f), .queryTransfers(let f):
                b.writeRecords(size: RecordCodec.queryFilterSize) { RecordCodec.encode(f, into: &$0) }
            case .createAccounts(let a): b.writeAccounts(a)
            case .createTransfers(let t): b.writeTransfers(t)
            case .status, .promote, .digest: break
            case .authenticate(let token): b.writeBytes(token)
            }
        }
    }

    /// Appends a reply frame whose header carries `stateLSN`. Throws `frameTooLarge`
    /// (writing nothing) when a JSON body exceeds `WireLimits.maxBodySize`.
    package static func encode(_ reply: Reply, id: UInt64, stateLSN: UInt64 = 0, into out: inout ByteBuffer) throws(WireError) {
        let count = reply.recordCount
        try checkCount(count, id: id, operation: reply.code)
        if case .status(let json) = reply, json.count > WireLimits.maxBodySize {
            throw WireError(.frameTooLarge, requestId: id, operation: reply.code, "a status of \(json.count) bytes")
        }
        if case .digest(let json) = reply, json.count > WireLimits.maxBodySize {
            throw WireError(.frameTooLarge, requestId: id, operation: reply.code, "a digest answer of \(json.count) bytes")
        }
        if case .authenticate(let json) = reply, json.count > WireLimits.maxBodySize {
            throw WireError(.frameTooLarge, requestId: id, operation: reply.code, "an authenticate answer of \(json.count) bytes")
        }
        if case .promote(let json) = reply, json.count > WireLimits.maxBodySize {
            throw WireError(.frameTooLarge, requestId: id, operation: reply.code, "a promote answer of \(json.count) bytes")
        }
        frame(operation: reply.code, kind: .reply, id: id, count: count, stateLSN: stateLSN, into: &out) { b in
            switch reply {
            case .lookupAccounts(let a), .queryAccounts(let a): b.writeAccounts(a)
            case .lookupTransfers(let t), .getAccountTransfers(let t), .queryTransfers(let t):
                b.writeTransfers(t)
            case .getAccountBalances(let balances):
                b.writeRecords(size: balances.count * RecordCodec.accountBalanceSize) { sink in
                    for x in balances { RecordCodec.encode(x, into: &sink) }
                }
            case .createAccounts(let results):
                results.withUnsafeBufferPointer { r in b.writeCreateResults(count: r.count) { (r[$0].timestamp, r[$0].status.rawValue) } }
            case .createTransfers(let results):
                results.withUnsafeBufferPointer { r in b.writeCreateResults(count: r.count) { (r[$0].timestamp, r[$0].status.rawValue) } }
            case .status(let json), .promote(let json), .digest(let json), .authenticate(let json):
                b.writeBytes(json)
            }
        }
    }

    /// Appends an error reply frame; the text is cut to `WireLimits.maxErrorTextSize` bytes
    /// (at a character boundary).
    package static func encode(_ error: ErrorReply, into out: inout ByteBuffer) {
        var text = Array(error.message.utf8)
        if text.count > WireLimits.maxErrorTextSize {
            var end = WireLimits.maxErrorTextSize
            while end > 0 && text[end] & 0xC0 == 0x80 { end -= 1 }  // do not split a character
            text.removeSubrange(end...)
        }
        frame(
            operation: error.operation, kind: .errorReply, id: error.requestId, count: 0,
            errorCode: error.rawCode, into: &out
        ) { b in b.writeBytes(text) }
    }

    /// Appends the error reply that answers `error`.
    package static func encode(_ error: WireError, into out: inout ByteBuffer) {
        encode(ErrorReply(error), into: &out)
    }

    private static func checkCount(_ count: Int, id: UInt64, operation: UInt8) throws(WireError) {
        guard count <= WireLimits.batchMax else {
            throw WireError(
                .tooManyEvents, requestId: id, operation: operation,
                "\(count) records; at most \(WireLimits.batchMax) per message")
        }
    }

    /// Writes a zeroed header, the body, then fills in the header.
    private static func frame(
        operation: UInt8, kind: MessageKind, id: UInt64, count: Int, errorCode: UInt16 = 0,
        stateLSN: UInt64 = 0, into out: inout ByteBuffer, body: (inout ByteBuffer) -> Void
    ) {
        let start = out.writerIndex
        out.writeRepeatingByte(0, count: MessageHeader.size)
        let bodyStart = out.writerIndex
        body(&out)
        let bodySize = out.writerIndex - bodyStart
        let header = MessageHeader(
            operation: operation, kind: kind, requestId: id, bodySize: UInt32(truncatingIfNeeded: bodySize),
            eventCount: UInt32(truncatingIfNeeded: count), errorCode: errorCode,
            bodyChecksum: WireChecksum.crc32c(out, at: bodyStart, length: bodySize) ?? 0, stateLSN: stateLSN)
        header.write(to: &out, at: start)
    }
}
