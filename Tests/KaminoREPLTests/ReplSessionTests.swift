import Testing

import KaminoREPL
import KaminoTestSupport
import LedgerClient

/// The session against an address where nothing listens: what a user sees when the
/// server is down, and that interactive mode never refuses because of the breaker.
@Suite("REPL session errors")
struct ReplSessionTests {
    /// A port nothing listens on: bound to nothing, port 1 needs root to listen.
    static let deadAddress = "127.0.0.1:1"

    func session(interactive: Bool) throws -> ReplSession {
        var options = ReplSession.clientOptions(interactive: interactive)
        options.retry = .none
        return ReplSession(client: try KaminoClient(addresses: [Self.deadAddress], options: options), address: Self.deadAddress)
    }

    @Test("A dead server is 'cannot reach HOST:PORT', every time, in interactive mode")
    func cannotReach() async throws {
        let repl = try session(interactive: true)
        for _ in 0..<7 {  // more than the default breaker's threshold of 5
            let answer = await repl.run(line: "lookup_accounts id=1")
            #expect(answer?.ok == false)
            #expect(answer?.output.hasPrefix("error: cannot reach 127.0.0.1:1 (") == true, "\(answer?.output ?? "")")
            #expect(answer?.output.contains("circuit") == false)
        }
        await repl.client.close()
    }

    @Test("Piped and --command modes keep the breaker, which still says cannot reach")
    func breakerOutsideInteractive() async throws {
        let repl = try session(interactive: false)
        var outputs: [String] = []
        for _ in 0..<7 { outputs.append(await repl.run(line: "lookup_accounts id=1")?.output ?? "") }
        #expect(outputs.allSatisfy { $0.hasPrefix("error: cannot reach 127.0.0.1:1") })
        #expect(outputs.last?.contains("circuit breaker") == true)
        await repl.client.close()
    }

    @Test("The greeting says connected only once the server answered")
    func greeting() async throws {
        let dead = try session(interactive: true)
        let refused = await dead.greeting()
        #expect(!refused.ok && refused.output.hasPrefix("error: cannot reach 127.0.0.1:1 ("), "\(refused.output)")
        await dead.client.close()

        let server = try #require(KaminoServe.start(), "kamino serve did not start")
        defer { server.stop() }
        let live = ReplSession(client: try KaminoClient(addresses: [server.address]), address: server.address)
        let answered = await live.greeting()
        #expect(answered.ok && answered.output == "connected to \(server.address) (standalone)", "\(answered.output)")
        #expect(await live.run(line: "lookup_accounts id=0x1_0")?.output == "0 results")
        await live.client.close()
    }

    @Test("Parse errors come back as failures before anything is sent; exit ends the session")
    func parseErrorsAndExit() async throws {
        let repl = try session(interactive: true)
        let bad = await repl.run(line: "create_transfers id=1, id=0xZZ")
        #expect(bad?.ok == false && bad?.output == "error: transfer 1: field id: must be an unsigned 128-bit integer (decimal or 0x hex), got '0xZZ'")
        #expect(await repl.run(line: "exit") == nil)
        #expect(await repl.run(line: "help")?.ok == true)
        await repl.client.close()
    }

    @Test("Client errors in plain words")
    func formatter() {
        #expect(ReplFormatter.clientError(KaminoClientError(.serverError(.busy), "queues full"), address: "h:1")
            == "error: the server answered busy: queues full")
        #expect(ReplFormatter.clientError(KaminoClientError(.serverError(.busy), "server error 12 (busy): queues full"), address: "h:1")
            == "error: the server answered busy: queues full")
        #expect(ReplFormatter.clientError(KaminoClientError(.timeout, "t"), address: "h:1").contains("no reply from h:1"))
        #expect(ReplFormatter.clientError(KaminoClientError(.circuitOpen, "open"), address: "h:1") == "error: cannot reach h:1 (open)")
        let refused = "could not connect: h:1: Connection errors: SingleConnectionFailure(target: [IPv4]h/1.2.3.4:1, "
            + "error: connection reset (error set): Connection refused) (errno: 111)))"
        #expect(ReplFormatter.clientError(KaminoClientError(.connectionFailed, refused), address: "h:1")
            == "error: cannot reach h:1 (connection refused: is the server running?)")
    }
}
