import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// A peer sending frames the decoder rejects is logged (`kamino.audit`, `event=bad_frame`,
/// with its address and the error code), at most 20 lines a second; the next line says
/// how many were dropped.
@Suite("Bad peers are logged, rate-limited", .serialized)
struct BadPeerLogTests {
    @Test func badFramesAreAuditedAtMostTwentyLinesASecond() throws {
        let dir = temporaryDataDir("bad-peer")
        defer { removeDataDir(dir) }
        let server = try #require(ServerProcess.start(dataDir: dir), "kamino serve did not start")
        defer { server.terminate() }
        // One connection, many frames with a bad body checksum (each answered; with
        // authentication off the connection stays open).
        let client = try #require(WireTestClient(port: server.port))
        let frames = 200
        for i in 0..<frames {
            var frame = WireTestClient.frame(.lookupAccounts([1]), id: UInt64(i + 1))
            frame[frame.count - 1] ^= 0xFF
            #expect(client.sendRaw(frame))
        }
        for _ in 0..<frames { #expect(errorCode(client.receive()) == .badBodyChecksum) }
        // A later second: its line reports what the flood's seconds dropped.
        usleep(1_100_000)
        var last = WireTestClient.frame(.lookupAccounts([1]), id: 999)
        last[last.count - 1] ^= 0xFF
        #expect(client.sendRaw(last))
        #expect(errorCode(client.receive()) == .badBodyChecksum)
        // The client still works.
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))

        var lines: [Substring] = []
        let deadline = monotonicSeconds() + 10
        repeat {
            lines = server.output.split(separator: "\n").filter { $0.contains("event=bad_frame") }
            if lines.last?.contains("suppressed=") == true { break }
            usleep(50_000)
        } while monotonicSeconds() < deadline
        #expect(!lines.isEmpty, "no bad_frame line:\n\(server.output)")
        #expect(lines.allSatisfy { $0.contains("warning kamino.audit:") && $0.contains("peer=127.0.0.1") })
        #expect(lines.first?.contains("bad_body_checksum") == true, "\(lines.first ?? "")")
        // 201 bad frames within a few seconds: at most 20 lines in each second.
        #expect(lines.count < 80, "not rate-limited: \(lines.count) lines")
        let suppressed = lines.last.flatMap { line in
            line.split(separator: " ").first { $0.hasPrefix("suppressed=") }.flatMap { Int($0.dropFirst("suppressed=".count)) }
        }
        #expect((suppressed ?? 0) > 0, "the line after the flood reports the dropped lines: \(lines.last ?? "")")
        #expect((suppressed ?? 0) + lines.count <= frames + 1)
    }
}
