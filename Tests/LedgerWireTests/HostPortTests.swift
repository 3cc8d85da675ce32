import Testing

@testable import LedgerWire

/// The package's one `host:port` parser (server settings and client addresses).
@Suite("host:port parsing")
struct HostPortTests {
    @Test("valid addresses, IPv6 in brackets, port 0 for a listener")
    func valid() {
        #expect(HostPort(parsing: "127.0.0.1:4410") == HostPort(host: "127.0.0.1", port: 4410))
        #expect(HostPort(parsing: "localhost:0") == HostPort(host: "localhost", port: 0))
        #expect(HostPort(parsing: "[::1]:65535") == HostPort(host: "::1", port: 65535))
        #expect(HostPort(parsing: "[::1]:4410")?.description == "[::1]:4410")
        #expect(HostPort(parsing: "db.example:80")?.description == "db.example:80")
    }

    @Test("refused: no colon, no host, spaces, bad or out-of-range port",
          arguments: ["127.0.0.1", ":4410", "[]:4410", "a b:1", "a\tb:1", "[::1:4410", "::1]:4410", "host:", "host:x", "host:-1",
                     "host:65536", ""])
    func invalid(text: String) {
        #expect(HostPort(parsing: text) == nil)
    }

    @Test("each refusal says why", arguments: [
        ("127.0.0.1", HostPortError.Code.noPort), ("host:", .noPort), ("[::1:1", .unbalancedBrackets),
        ("host:x", .portNotANumber), ("host:65536", .portOutOfRange), (":1", .emptyHost), ("[]:1", .emptyHost),
        ("a b:1", .blankInHost),
    ])
    func reasons(text: String, code: HostPortError.Code) {
        #expect(throws: HostPortError(code, code == .portNotANumber ? "'x'" : code == .portOutOfRange ? "65536" : "")) {
            try HostPort(validating: text)
        }
    }
}
