import Foundation
import LedgerClient
import LedgerCore
import Testing

/// The client's public error surface: every server error code of docs/protocol.md by
/// name, typed addresses and their parse errors, and `mayHaveExecuted` as a caller sees it.
@Suite(.timeLimit(.minutes(1))) struct PublicAPITests {
    /// The `| code | name |` rows of docs/protocol.md's "Error replies" table.
    static func documentedErrorCodes() throws -> [(UInt16, String)] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/protocol.md").path
        let page = try String(contentsOfFile: path, encoding: .utf8)
        let section = try #require(page.components(separatedBy: "## Error replies").dropFirst().first)
        var rows: [(UInt16, String)] = []
        for line in section.split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3, let code = UInt16(cells[1]), cells[2].hasPrefix("`"), cells[2].hasSuffix("`") else { continue }
            rows.append((code, String(cells[2].dropFirst().dropLast())))
        }
        return rows
    }

    @Test func everyDocumentedServerErrorCodeHasAConstantWithItsName() throws {
        let documented = try Self.documentedErrorCodes()
        #expect(documented.count >= 18)
        #expect(documented.map(\.0) == ServerErrorCode.allKnown.map(\.rawValue))
        for (raw, name) in documented {
            #expect(ServerErrorCode(rawValue: raw).name == name)
            #expect("\(ServerErrorCode(rawValue: raw))" == name)
        }
        #expect(ServerErrorCode(rawValue: 999).name == nil && "\(ServerErrorCode(rawValue: 999))" == "999")
    }

    @Test func addressesParseAndPrintBack() throws {
        for text in ["127.0.0.1:4410", "[::1]:4410", "ledger.internal:1", "10.0.0.5:65535"] {
            #expect(try ServerAddress(text).description == text)
        }
        let v6 = try ServerAddress("[fe80::1]:80")
        #expect(v6.host == "fe80::1" && v6.port == 80)
        #expect(try ServerAddress(host: "::1", port: 4410).description == "[::1]:4410")
    }

    @Test(arguments: [
        ("localhost", "no port (write HOST:PORT"),
        ("localhost:", "no port (write HOST:PORT"),
        ("localhost:http", "the port 'http' is not a number"),
        (":4410", "the host is empty"),
        ("[::1:4410", "unbalanced brackets"),
        ("my host:4410", "the host contains a blank"),
        ("127.0.0.1:0", "the port 0 is not in 1...65535"),
        ("127.0.0.1:70000", "the port 70000 is not in 1...65535"),
    ])
    func badAddressesSayWhatIsWrong(text: String, problem: String) {
        do {
            _ = try ServerAddress(text)
            Issue.record("'\(text)' parsed")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("bad server address '\(text)': " + problem), "\(error.message)")
        }
        #expect(throws: KaminoClientError.self) { try KaminoClient(addresses: [text]) }
        #expect(throws: KaminoClientError.self) { try ServerAddress(host: "", port: 1) }
        #expect(throws: KaminoClientError.self) { try ServerAddress(host: "h", port: 65536) }
    }

    @Test func mayHaveExecutedIsFalseWhenNothingWasSent() async throws {
        // Port 1: nothing listens there, and no test can listen there (it needs root).
        let dead = try KaminoClient(
            addresses: [try ServerAddress(host: "127.0.0.1", port: 1)], options: Fixtures.options(retry: .none))
        let refused = await Fixtures.failure { () async throws(KaminoClientError) in try await dead.createAccounts([Fixtures.account(1)]) }
        #expect(refused?.code == .connectionFailed && refused?.mayHaveExecuted == false)
        await dead.close()

        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        // A long timeout: the held reply must arrive as the server's error, not as a timeout of a
        // loaded test machine.
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(timeout: .seconds(120), retry: .none))
        server.state.setBehavior(.holdUntilReleased(firstErrorCode: ServerErrorCode.busy.rawValue))
        let call = Task { await Fixtures.failure { () async throws(KaminoClientError) in try await client.createAccounts([Fixtures.account(1)]) } }
        await server.state.waitForRequests(.createAccounts, count: 1)
        server.state.releaseHeld()
        let busy = await call.value
        #expect(busy?.code == .serverError(.busy) && busy?.mayHaveExecuted == false, "\(String(describing: busy))")
        await client.close()
    }

    @Test func mayHaveExecutedIsTrueWhenTheOutcomeIsUnknown() async throws {
        let server = try await FakeServer.start()
        defer { Task { await server.stop() } }
        // A long timeout: the held reply must arrive as the server's error, not as a timeout of a
        // loaded test machine.
        let client = try KaminoClient(
            addresses: [server.address], options: Fixtures.options(timeout: .seconds(120), retry: .none))
        // internal_error and replication_timeout: the protocol says the outcome is unknown;
        // log_unavailable: unknown on a replicated node, which the client cannot tell apart.
        for (index, code) in [ServerErrorCode.internalError, .replicationTimeout, .logUnavailable].enumerated() {
            server.state.setBehavior(.holdUntilReleased(firstErrorCode: code.rawValue))
            let call = Task {
                await Fixtures.failure { () async throws(KaminoClientError) in
                    try await client.createAccounts([Fixtures.account(UInt128(10 + index))])
                }
            }
            await server.state.waitForRequests(.createAccounts, count: index + 1)
            server.state.releaseHeld()
            let failure = await call.value
            #expect(failure?.code == .serverError(code) && failure?.mayHaveExecuted == true, "\(String(describing: failure))")
        }
        server.state.setBehavior(.normal)

        // A linked create whose connection dropped after it was executed: outcomeUnknown.
        server.state.setBehavior(.dropAfterExecuting(count: 1))
        let linked = await Fixtures.failure { () async throws(KaminoClientError) in
            try await client.createAccounts([Fixtures.account(2, flags: .linked), Fixtures.account(3)])
        }
        #expect(linked?.code == .outcomeUnknown && linked?.mayHaveExecuted == true)
        #expect(linked?.description.hasPrefix("KaminoClientError(outcomeUnknown, may have executed): ") == true)
        await client.close()
    }
}
