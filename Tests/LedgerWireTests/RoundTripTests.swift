import LedgerWorkload
import LedgerCore
import NIOCore
import Testing

@testable import LedgerWire

/// Every operation's request and reply survives encode then decode unchanged.
@Suite("Round trips")
struct RoundTripTests {
    @Test("every operation's request round-trips", arguments: Samples.clientOperations)
    func requests(operation: Operation) throws {
        var r = SplitMix64(seed: UInt64(operation.rawValue))
        for n in [0, 1, 2, 7, WireLimits.batchMax] {
            let request = Samples.request(operation, n, &r)
            let message = Message.request(id: r.next(), request)
            let bytes = try Wire.encode(message)
            #expect(bytes.readableBytes <= WireLimits.maxMessageSize)
            let decoded = try Wire.decodeOne(Wire.bytes(bytes), role: .requests).get()
            #expect(decoded == message)
        }
    }

    @Test("every operation's reply round-trips", arguments: Samples.clientOperations)
    func replies(operation: Operation) throws {
        var r = SplitMix64(seed: 1000 + UInt64(operation.rawValue))
        for n in [0, 1, 3, WireLimits.batchMax] {
            let message = Message.reply(id: r.next(), Samples.reply(operation, n, &r))
            let bytes = try Wire.encode(message)
            #expect(bytes.readableBytes <= WireLimits.maxMessageSize)
            let decoded = try Wire.decodeOne(Wire.bytes(bytes), role: .replies).get()
            #expect(decoded == message)
        }
    }

    @Test("error replies round-trip, long texts are cut at a character boundary")
    func errorReplies() throws {
        for code in WireError.Code.allCases {
            let message = Message.errorReply(
                ErrorReply(requestId: 42, operation: 147, rawCode: code.rawValue, message: "why: \(code)"))
            let decoded = try Wire.decodeOne(Wire.bytes(try Wire.encode(message)), role: .replies).get()
            #expect(decoded == message)
        }
        let long = String(repeating: "é", count: 2000)
        let bytes = try Wire.encode(.errorReply(ErrorReply(requestId: 1, operation: 0, rawCode: 12, message: long)))
        guard case .errorReply(let e) = try Wire.decodeOne(Wire.bytes(bytes), role: .replies).get() else {
            Issue.record("not an error reply")
            return
        }
        #expect(e.message == String(repeating: "é", count: 512))
        #expect(e.code == .busy)
    }

    @Test("filters keep a non-zero reserved marker")
    func reservedMarker() throws {
        let f = AccountFilter(accountId: 7, reservedIsZero: false, limit: 10)
        let q = QueryFilter(ledger: 3, reservedIsZero: false, limit: 5)
        for request in [Request.getAccountBalances(f), .queryTransfers(q)] {
            let decoded = try Wire.decodeOne(Wire.bytes(try Wire.encode(.request(id: 9, request))), role: .requests).get()
            #expect(decoded == .request(id: 9, request))
        }
    }

    @Test("many pipelined messages in one buffer decode in order through the NIO processor")
    func pipelined() throws {
        var r = SplitMix64(seed: 77)
        var all = ByteBuffer()
        var expected: [Message] = []
        for i in 0..<200 {
            let op = Samples.clientOperations[i % Samples.clientOperations.count]
            let m = Message.request(id: UInt64(1000 - i), Samples.request(op, i % 5, &r))
            expected.append(m)
            try MessageEncoding.encode(m, into: &all)
        }
        let processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .requests))
        var got: [Message] = []
        try processor.process(buffer: all) { got.append($0) }
        #expect(got == expected)
    }

    @Test("the encoder refuses more than batchMax events")
    func encoderLimit() {
        let ids = [UInt128](repeating: 1, count: WireLimits.batchMax + 1)
        var b = ByteBuffer()
        #expect(throws: WireError.self) { try MessageEncoding.encode(.lookupAccounts(ids), id: 1, into: &b) }
        #expect(b.readableBytes == 0)
    }

    @Test("CRC32C matches the standard test vector")
    func crcVector() {
        let v = Array("123456789".utf8)
        #expect(v.withUnsafeBytes { WireChecksum.crc32c($0) } == 0xE306_9283)
    }
}
