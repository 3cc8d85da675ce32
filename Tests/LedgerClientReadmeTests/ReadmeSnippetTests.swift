import Foundation
import KaminoTestSupport
import LedgerClient
import Testing

/// The README's Swift client example, which imports nothing but `LedgerClient`: this
/// target compiles it (`ReadmeSnippet.swift`, with member import visibility on, so a
/// model type or member that `LedgerClient` does not re-export fails the build), runs it
/// against a real `kamino serve`, and checks that the README shows exactly that file.
@Suite(.timeLimit(.minutes(2))) struct ReadmeSnippetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The README's ```swift block that starts with `import LedgerClient`.
    static func readmeBlock() throws -> String {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```swift\n").dropFirst()
        let block = try #require(blocks.first { $0.hasPrefix("import LedgerClient\n") }, "no client block in README.md")
        return try #require(block.components(separatedBy: "```").first)
    }

    @Test func theReadmeShowsTheCompiledSnippetVerbatim() throws {
        let file = try String(
            contentsOf: Self.root.appendingPathComponent("Tests/LedgerClientReadmeTests/ReadmeSnippet.swift"), encoding: .utf8)
        #expect(try Self.readmeBlock() == file)
    }

    @Test func theSnippetRunsAgainstARealServer() async throws {
        let server = try #require(KaminoServe.start(), "kamino serve did not start")
        defer { server.stop() }
        let bob = try #require(try await payExample(server: server.address))
        #expect(bob.creditsPosted == 250 && bob.debitsPosted == 0)
        #expect(bob.flags == .history && IDGenerator.milliseconds(of: bob.id) > 0)
        // The payment is there, under an id made by the generator.
        let client = try KaminoClient(addresses: [try ServerAddress(server.address)])
        let balances = try await client.getAccountBalances(AccountFilter(accountId: bob.id, limit: 10))
        #expect(balances.map(\.creditsPosted) == [250])
        await client.close()
    }
}
