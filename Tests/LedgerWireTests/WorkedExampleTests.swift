import Foundation
import LedgerCore
import NIOCore
import Testing

@testable import LedgerWire

/// The worked example of docs/protocol.md ("Worked example"): exactly the bytes shown
/// there, decoded and checked field by field. Keep the hex below and the page in sync;
/// the last test compares them.
@Suite("Worked example of docs/protocol.md")
struct WorkedExampleTests {
    /// create_transfers, request id 1, one transfer: id 1001 from account 1 to account 2,
    /// amount 10000, ledger 700, code 10.
    static let requestHex = """
        4b 4d 4e 4f 01 00 93 01 01 00 00 00 00 00 00 00
        80 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 c2 8a b8 81 d5 ae fa b4
        e9 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        10 27 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        bc 02 00 00 0a 00 00 00 00 00 00 00 00 00 00 00
        """

    /// The reply: one result, created, at timestamp 1767225600000000000.
    static let replyHex = """
        4b 4d 4e 4f 01 00 93 02 01 00 00 00 00 00 00 00
        10 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 c9 03 6a 84 11 32 b1 31
        00 00 fa ed 51 72 86 18 ff ff ff ff 00 00 00 00
        """

    static let transfer = Transfer(
        id: 1001, debitAccountId: 1, creditAccountId: 2, amount: 10_000, ledger: 700, code: 10)
    static let result = CreateTransferResult(timestamp: 1_767_225_600_000_000_000, status: .created)

    @Test("the request decodes field by field")
    func request() throws {
        let bytes = Wire.bytes(hex: Self.requestHex)
        #expect(bytes.count == 176)
        // Header fields, read as the page's table says.
        func u32(_ o: Int) -> UInt32 { bytes[o..<o + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func u64(_ o: Int) -> UInt64 { bytes[o..<o + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        #expect(Array(bytes[0..<4]) == Array("KMNO".utf8))
        #expect(bytes[4] == 1 && bytes[5] == 0)
        #expect(bytes[6] == 147 && bytes[7] == 1)
        #expect(u64(8) == 1)
        #expect(u32(16) == 128 && u32(20) == 1)
        #expect(bytes[24..<40].allSatisfy { $0 == 0 })
        #expect(u32(40) == 0x81B8_8AC2)
        #expect(u32(44) == 0xB4FA_AED5)
        #expect(bytes.withUnsafeBytes { WireChecksum.crc32c(UnsafeRawBufferPointer(rebasing: $0[48...])) } == u32(40))
        #expect(bytes.withUnsafeBytes { WireChecksum.crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<44])) } == u32(44))

        guard case .request(let id, .createTransfers(let transfers)) = try Wire.decodeOne(bytes, role: .requests).get() else {
            Issue.record("not a create_transfers request")
            return
        }
        #expect(id == 1)
        #expect(transfers.count == 1)
        let t = try #require(transfers.first)
        #expect(t.id == 1001)
        #expect(t.debitAccountId == 1)
        #expect(t.creditAccountId == 2)
        #expect(t.amount == 10_000)
        #expect(t.pendingId == 0 && t.userData128 == 0 && t.userData64 == 0 && t.userData32 == 0)
        #expect(t.timeout == 0)
        #expect(t.ledger == 700)
        #expect(t.code == 10)
        #expect(t.flags == [])
        #expect(t.timestamp == 0)
        #expect(Wire.bytes(try Wire.encode(.request(id: 1, .createTransfers([Self.transfer])))) == bytes)
    }

    @Test("the reply decodes field by field")
    func reply() throws {
        let bytes = Wire.bytes(hex: Self.replyHex)
        #expect(bytes.count == 64)
        guard case .reply(let id, .createTransfers(let results), _) = try Wire.decodeOne(bytes, role: .replies).get() else {
            Issue.record("not a create_transfers reply")
            return
        }
        #expect(id == 1)
        #expect(results == [Self.result])
        #expect(results.first?.status.rawValue == 0xFFFF_FFFF)
        #expect(Wire.bytes(try Wire.encode(.reply(id: 1, .createTransfers([Self.result])))) == bytes)
    }

    @Test("docs/protocol.md shows exactly these bytes")
    func pageInSync() throws {
        let page = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/protocol.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        func block(after marker: String) -> String? {
            guard let m = text.range(of: marker),
                let open = text.range(of: "```text\n", range: m.upperBound..<text.endIndex),
                let close = text.range(of: "```", range: open.upperBound..<text.endIndex)
            else { return nil }
            return String(text[open.upperBound..<close.lowerBound])
        }
        func normalized(_ s: String) -> String { s.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        #expect(block(after: "<!-- worked-example:request -->").map(normalized) == normalized(Self.requestHex))
        #expect(block(after: "<!-- worked-example:reply -->").map(normalized) == normalized(Self.replyHex))
    }
}
