import LedgerCore
import NIOCore
import Testing

@testable import LedgerWire

/// Every error code the decoder produces, each from a crafted frame.
@Suite("Error codes from crafted frames")
struct ErrorCodeTests {
    static let validRequest: [UInt8] = RawFrame.make(
        operation: 141, kind: 1, requestId: 77, eventCount: 2, body: [UInt8](repeating: 0xAB, count: 32))

    func expectError(
        _ bytes: [UInt8], role: KaminoMessageDecoder.Role = .requests, _ code: WireError.Code,
        requestId: UInt64?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch Wire.decodeOne(bytes, role: role) {
        case .success(let m):
            Issue.record("expected \(code), got \(String(describing: m))", sourceLocation: sourceLocation)
        case .failure(let e):
            #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
            #expect(e.requestId == requestId, sourceLocation: sourceLocation)
        }
    }

    @Test("a hand-built frame matches the encoder byte for byte")
    func rawMatchesEncoder() throws {
        let ids: [UInt128] = [UInt128(0xABAB_ABAB_ABAB_ABAB) << 64 | 0xABAB_ABAB_ABAB_ABAB, UInt128(0xABAB_ABAB_ABAB_ABAB) << 64 | 0xABAB_ABAB_ABAB_ABAB]
        let encoded = Wire.bytes(try Wire.encode(.request(id: 77, .lookupTransfers(ids))))
        #expect(encoded == Self.validRequest)
        #expect(try Wire.decodeOne(Self.validRequest, role: .requests).get() == .request(id: 77, .lookupTransfers(ids)))
    }

    @Test("badMagic: wrong first bytes, and plain garbage, as soon as four bytes arrive")
    func badMagic() {
        var b = Self.validRequest
        b[0] = 0x4C
        expectError(b, .badMagic, requestId: nil)
        expectError(Array("GET / HTTP/1.1\r\n".utf8), .badMagic, requestId: nil)
        expectError([0x4B, 0x4D, 0x4E, 0x00], .badMagic, requestId: nil)
        #expect(WireError.Code.badMagic.closesConnection)
    }

    @Test("unsupportedVersion: version 2, even before the rest of the header arrives")
    func unsupportedVersion() {
        var b = Self.validRequest
        Wire.setU16(2, at: 4, in: &b)
        Wire.resealHeader(&b)
        expectError(b, .unsupportedVersion, requestId: nil)
        expectError(Array(b[0..<6]), .unsupportedVersion, requestId: nil)
        #expect(WireError.Code.unsupportedVersion.closesConnection)
    }

    @Test("badHeaderChecksum: any header byte changed without resealing")
    func badHeaderChecksum() {
        for offset in 6..<48 {
            var b = Self.validRequest
            b[offset] ^= 0x10
            expectError(b, .badHeaderChecksum, requestId: nil)
        }
        #expect(WireError.Code.badHeaderChecksum.closesConnection)
    }

    @Test("frameTooLarge: body_size over the limit is refused from the header alone")
    func frameTooLarge() {
        var b = Array(Self.validRequest[0..<48])
        Wire.setU32(UInt32(WireLimits.maxBodySize + 1), at: 16, in: &b)
        Wire.resealHeader(&b)
        expectError(b, .frameTooLarge, requestId: 77)
        Wire.setU32(UInt32.max, at: 16, in: &b)
        Wire.resealHeader(&b)
        expectError(b, .frameTooLarge, requestId: 77)
        #expect(WireError.Code.frameTooLarge.closesConnection)
        // Exactly the limit is accepted as framing (then rejected for its size, the stream intact).
        Wire.setU32(UInt32(WireLimits.maxBodySize), at: 16, in: &b)
        Wire.resealHeader(&b)
        #expect(throws: Never.self) { try Wire.decodeOne(b, role: .requests).get() }
    }

    @Test("truncatedFrame: the stream ends inside a frame")
    func truncatedFrame() throws {
        for cut in [1, 20, 47, 48, 60] {
            var decoder = KaminoMessageDecoder(accepting: .requests)
            var b = ByteBuffer(bytes: Self.validRequest[0..<cut])
            #expect(try decoder.decode(buffer: &b) == nil)
            do {
                _ = try decoder.decodeLast(buffer: &b, seenEOF: true)
                Issue.record("no error at EOF")
            } catch let e as WireError {
                #expect(e.code == .truncatedFrame)
            }
        }
        #expect(WireError.Code.truncatedFrame.closesConnection)
    }

    @Test("invalidHeader: unknown kind, reserved bytes, misplaced error_code, wrong direction")
    func invalidHeader() {
        let body = [UInt8](repeating: 1, count: 16)
        expectError(RawFrame.make(operation: 140, kind: 0, requestId: 5, eventCount: 1, body: body), .invalidHeader, requestId: 5)
        expectError(RawFrame.make(operation: 140, kind: 9, requestId: 5, eventCount: 1, body: body), .invalidHeader, requestId: 5)
        expectError(RawFrame.make(operation: 140, kind: 1, requestId: 5, eventCount: 1, errorCode: 3, body: body), .invalidHeader, requestId: 5)
        expectError(RawFrame.make(operation: 140, kind: 2, requestId: 5, eventCount: 0, body: []), .invalidHeader, requestId: 5)
        expectError(RawFrame.make(operation: 140, kind: 1, requestId: 5, eventCount: 1, body: body), role: .replies, .invalidHeader, requestId: 5)
        expectError(RawFrame.make(operation: 140, kind: 3, requestId: 5, eventCount: 0, body: []), role: .replies, .invalidHeader, requestId: 5)
        var b = Self.validRequest
        b[30] = 1
        Wire.resealHeader(&b)
        expectError(b, .invalidHeader, requestId: 77)
        #expect(!WireError.Code.invalidHeader.closesConnection)
    }

    @Test("badBodyChecksum: a body byte changed")
    func badBodyChecksum() {
        for offset in 48..<Self.validRequest.count {
            var b = Self.validRequest
            b[offset] ^= 0x01
            expectError(b, .badBodyChecksum, requestId: 77)
        }
        #expect(!WireError.Code.badBodyChecksum.closesConnection)
    }

    @Test("unknownOperation: pulse, the log's coalesced records and codes outside 140...147")
    func unknownOperation() {
        for op: UInt8 in [0, 1, 128, 139, 148, 250, 251, 255] {
            expectError(RawFrame.make(operation: op, kind: 1, requestId: 8, eventCount: 0, body: []), .unknownOperation, requestId: 8)
        }
        #expect(!WireError.Code.unknownOperation.closesConnection)
    }

    @Test("badBodySize: partial records, event_count lies, not exactly one filter, long error text")
    func badBodySize() {
        expectError(RawFrame.make(operation: 140, kind: 1, requestId: 9, eventCount: 1, body: [UInt8](repeating: 0, count: 17)), .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 140, kind: 1, requestId: 9, eventCount: 3, body: [UInt8](repeating: 0, count: 32)), .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 144, kind: 1, requestId: 9, eventCount: 2, body: [UInt8](repeating: 0, count: 128)), .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 143, kind: 1, requestId: 9, eventCount: 0, body: []), .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 147, kind: 1, requestId: 9, eventCount: 1, body: [UInt8](repeating: 0, count: 64)), .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 147, kind: 2, requestId: 9, eventCount: 1, body: [UInt8](repeating: 0, count: 128)), role: .replies, .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 0, kind: 3, requestId: 9, eventCount: 0, errorCode: 7, body: [UInt8](repeating: 65, count: 1025)), role: .replies, .badBodySize, requestId: 9)
        expectError(RawFrame.make(operation: 0, kind: 3, requestId: 9, eventCount: 1, errorCode: 7, body: []), role: .replies, .badBodySize, requestId: 9)
        #expect(!WireError.Code.badBodySize.closesConnection)
    }

    @Test("tooManyEvents: 8190 ids, 8190 transfers, 8190 reply records")
    func tooManyEvents() {
        let n = WireLimits.batchMax + 1
        expectError(RawFrame.make(operation: 140, kind: 1, requestId: 10, eventCount: UInt32(n), body: [UInt8](repeating: 0, count: n * 16)), .tooManyEvents, requestId: 10)
        expectError(RawFrame.make(operation: 147, kind: 1, requestId: 10, eventCount: UInt32(n), body: [UInt8](repeating: 0, count: n * 128)), .tooManyEvents, requestId: 10)
        expectError(RawFrame.make(operation: 146, kind: 2, requestId: 10, eventCount: UInt32(n), body: [UInt8](repeating: 0, count: n * 16)), role: .replies, .tooManyEvents, requestId: 10)
        #expect(!WireError.Code.tooManyEvents.closesConnection)
    }

    @Test("invalidBody: unknown create status, non-zero reserved fields in reply records")
    func invalidBody() {
        var result = [UInt8](repeating: 0, count: 16)
        result[8] = 0x39
        result[9] = 0x30  // status 12345
        expectError(RawFrame.make(operation: 146, kind: 2, requestId: 11, eventCount: 1, body: result), role: .replies, .invalidBody, requestId: 11)
        expectError(RawFrame.make(operation: 147, kind: 2, requestId: 11, eventCount: 1, body: result), role: .replies, .invalidBody, requestId: 11)
        var reserved = [UInt8](repeating: 0xFF, count: 12) + [0, 0, 0, 1]  // created, reserved 0x01000000
        expectError(RawFrame.make(operation: 147, kind: 2, requestId: 11, eventCount: 1, body: reserved), role: .replies, .invalidBody, requestId: 11)
        reserved = [UInt8](repeating: 0, count: 127) + [1]
        expectError(RawFrame.make(operation: 143, kind: 2, requestId: 11, eventCount: 1, body: reserved), role: .replies, .invalidBody, requestId: 11)
        #expect(!WireError.Code.invalidBody.closesConnection)
    }

    @Test("server-side codes travel as error replies; only shuttingDown closes")
    func serverCodes() throws {
        for code in [WireError.Code.busy, .shuttingDown, .internalError, .batchRefused] {
            let e = WireError(code, requestId: 12, operation: 147, "server says no")
            var b = ByteBuffer()
            MessageEncoding.encode(e, into: &b)
            let m = try Wire.decodeOne(Wire.bytes(b), role: .replies).get()
            #expect(m == .errorReply(ErrorReply(requestId: 12, operation: 147, rawCode: code.rawValue, message: "server says no")))
        }
        #expect(WireError.Code.shuttingDown.closesConnection)
        #expect(!WireError.Code.busy.closesConnection)
        #expect(!WireError.Code.internalError.closesConnection)
        #expect(!WireError.Code.batchRefused.closesConnection)
    }

    @Test("after a recoverable error the next frame decodes; after a fatal one, input is discarded")
    func recovery() throws {
        var bad = Self.validRequest
        bad[50] ^= 1
        let good = RawFrame.make(operation: 140, kind: 1, requestId: 99, eventCount: 0, body: [])
        let processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .requests))
        var got: [Message] = []
        var errors: [WireError.Code] = []
        var input = ByteBuffer(bytes: bad + good)
        while true {
            do {
                try processor.process(buffer: input) { got.append($0) }
                break
            } catch let e as WireError {
                errors.append(e.code)
                input = ByteBuffer()
            }
        }
        #expect(errors == [.badBodyChecksum])
        #expect(got == [.request(id: 99, .lookupAccounts([]))])

        var decoder = KaminoMessageDecoder(accepting: .requests)
        var stream = ByteBuffer(bytes: [0x00, 0x01, 0x02, 0x03] + good)
        #expect(throws: WireError.self) { try decoder.decode(buffer: &stream) }
        #expect(decoder.failure?.code == .badMagic)
        var more = ByteBuffer(bytes: good)
        #expect(try decoder.decode(buffer: &more) == nil)
        #expect(more.readableBytes == 0)
    }
}
