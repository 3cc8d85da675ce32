import LedgerCore
import NIOCore
import Testing

@testable import LedgerWire

/// The reply header's `state_lsn` (bytes 32..<40) and the admin operations 200 and 201.
@Suite("state_lsn and admin operations")
struct StateLSNTests {
    func expectError(
        _ bytes: [UInt8], role: KaminoMessageDecoder.Role, _ code: WireError.Code,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch Wire.decodeOne(bytes, role: role) {
        case .success(let m): Issue.record("expected \(code), got \(String(describing: m))", sourceLocation: sourceLocation)
        case .failure(let e): #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
        }
    }

    @Test("a reply's state_lsn is written little-endian at bytes 32..<40 and read back")
    func replyRoundTrip() throws {
        let lsn: UInt64 = 0x0102_0304_0506_0708
        let message = Message.reply(id: 9, .lookupAccounts([]), stateLSN: lsn)
        let bytes = Wire.bytes(try Wire.encode(message))
        #expect(Array(bytes[26..<32]) == [0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[32..<40]) == [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01])
        #expect(try Wire.decodeOne(bytes, role: .replies).get() == message)
        // A reply without a state_lsn has zeros there, as before.
        let plain = Wire.bytes(try Wire.encode(.reply(id: 9, .lookupAccounts([]))))
        #expect(Array(plain[26..<40]) == [UInt8](repeating: 0, count: 14))
    }

    @Test("bytes 26..<32 stay reserved in replies; 32..<40 are reserved in requests and error replies")
    func reservedBytes() throws {
        var reply = Wire.bytes(try Wire.encode(.reply(id: 9, .lookupAccounts([]), stateLSN: 5)))
        reply[31] = 1
        Wire.resealHeader(&reply)
        expectError(reply, role: .replies, .invalidHeader)

        var request = Wire.bytes(try Wire.encode(.request(id: 3, .lookupAccounts([1]))))
        request[32] = 1
        Wire.resealHeader(&request)
        expectError(request, role: .requests, .invalidHeader)

        var errorReply = RawFrame.make(operation: 140, kind: 3, requestId: 4, eventCount: 0, errorCode: 12, body: [])
        errorReply[39] = 1
        Wire.resealHeader(&errorReply)
        expectError(errorReply, role: .replies, .invalidHeader)
    }

    @Test("status and promote: empty requests, JSON replies, both round trip")
    func adminRoundTrip() throws {
        for message in [
            Message.request(id: 1, .status), .request(id: 2, .promote),
            .reply(id: 1, .status(Array(#"{"role":"standalone"}"#.utf8))),
            .reply(id: 2, .promote(Array(#"{"role":"primary","epoch":2}"#.utf8))),
        ] {
            let bytes = Wire.bytes(try Wire.encode(message))
            #expect(try Wire.decodeOne(bytes, role: message.isRequest ? .requests : .replies).get() == message)
        }
        let status = Wire.bytes(try Wire.encode(.request(id: 1, .status)))
        #expect(status[6] == 200 && status.count == 48)
        #expect(Wire.bytes(try Wire.encode(.request(id: 1, .promote)))[6] == 201)
    }

    @Test("status and promote refuse events, a request body, a non-UTF-8 reply; authenticate (203) carries its token; 204 is unknown")
    func adminErrors() {
        expectError(RawFrame.make(operation: 200, kind: 1, requestId: 1, eventCount: 0, body: [1]), role: .requests, .badBodySize)
        expectError(RawFrame.make(operation: 201, kind: 1, requestId: 1, eventCount: 1, body: []), role: .requests, .badBodySize)
        expectError(RawFrame.make(operation: 200, kind: 2, requestId: 1, eventCount: 0, body: [0xFF, 0xFE]), role: .replies, .invalidBody)
        expectError(RawFrame.make(operation: 204, kind: 1, requestId: 1, eventCount: 0, body: []), role: .requests, .unknownOperation)
        expectError(RawFrame.make(operation: 203, kind: 1, requestId: 1, eventCount: 1, body: [1]), role: .requests, .badBodySize)
        expectError(
            RawFrame.make(operation: 203, kind: 1, requestId: 1, eventCount: 0, body: [UInt8](repeating: 65, count: 16 * 1024 + 1)),
            role: .requests, .badBodySize)
    }

    @Test("authenticate: the token as the request body, a JSON reply; both round trip")
    func authenticateRoundTrip() throws {
        let token = Array("eyJhbGciOiJIUzI1NiJ9.e30.c2ln".utf8)
        for message in [
            Message.request(id: 5, .authenticate(token)), .request(id: 6, .authenticate([])),
            .reply(id: 5, .authenticate(Array(#"{"auth":"jwt","subject":"a"}"#.utf8))),
        ] {
            let bytes = Wire.bytes(try Wire.encode(message))
            #expect(bytes[6] == 203)
            #expect(try Wire.decodeOne(bytes, role: message.isRequest ? .requests : .replies).get() == message)
        }
        #expect(Wire.bytes(try Wire.encode(.request(id: 5, .authenticate(token)))).count == 48 + token.count)
    }
}

extension Message {
    fileprivate var isRequest: Bool {
        if case .request = self { return true }
        return false
    }
}
